package io.jvhost.vhost;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.startsWith;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** jvhost's backend against DPDK's virtio-user in the same process: byte-exact traffic both ways. */
class InProcessTrafficTest {
    private static final int[] EVERY_SIZE = IntStream.rangeClosed(60, 9000).toArray();
    private static MbufPool pool;
    private static MbufPool bigPool;

    @BeforeAll
    static void pools() {
        SharedEal.get();
        pool = MbufPool.create(null, 16384, 256, MbufPool.DEFAULT_DATA_ROOM);
        // for a guest without mergeable buffers: each receive buffer must hold a whole 9000-byte frame
        bigPool = MbufPool.create(null, 4096, 256, 9216 + 128 + 128);
    }

    @AfterAll
    static void closePools() {
        assertThat("every mbuf came back", pool.inUse(), equalTo(0));
        assertThat("every mbuf came back", bigPool.inUse(), equalTo(0));
        pool.close();
        bigPool.close();
    }

    @ParameterizedTest(name = "mergeable={0}")
    @ValueSource(booleans = {true, false})
    void everySizeFrom60To9000BothWays(boolean mergeable) throws Exception {
        try (InProcessPair p = InProcessPair.open(1, mergeable, mergeable ? pool : bigPool)) {
            assertThat(VirtioFeature.NET_MRG_RXBUF.isIn(p.device.features()), equalTo(mergeable));
            p.guestToBackend(pool, pool, 0, 0, EVERY_SIZE);
            p.backendToGuest(pool, 0, 100_000, EVERY_SIZE);

            Map<String, Long> txStats = p.device.stats(1);
            Map<String, Long> rxStats = p.device.stats(0);
            assertThat(txStats.toString(), txStats.get("good_packets"), equalTo((long) EVERY_SIZE.length));
            assertThat(rxStats.toString(), rxStats.get("good_packets"), equalTo((long) EVERY_SIZE.length));
            long bytes = IntStream.of(EVERY_SIZE).asLongStream().sum();
            assertThat(txStats.get("good_bytes"), equalTo(bytes));
            assertThat(rxStats.get("good_bytes"), equalTo(bytes));
        }
    }

    @Test
    void everyQueuePairCarriesItsOwnTraffic() throws Exception {
        try (InProcessPair p = InProcessPair.open(2, true, pool)) {
            assertThat(p.device.vringCount(), equalTo(4));
            int[] sizes = IntStream.rangeClosed(60, 1600).toArray();
            for (int q = 0; q < 2; q++) {
                p.guestToBackend(pool, pool, q, q * 10_000, sizes);
                p.backendToGuest(pool, q, q * 10_000 + 5_000, sizes);
            }
            for (int vring = 0; vring < 4; vring++) {
                assertThat("vring " + vring, p.device.stats(vring).get("good_packets"), equalTo((long) sizes.length));
            }
        }
    }

    @Test
    void deviceViewShowsTheFrontendsSetup() throws Exception {
        try (InProcessPair p = InProcessPair.open(1, true, pool)) {
            VhostDevice d = p.device;
            assertThat(d.isAlive(), equalTo(true));
            assertThat(d.ifname(), equalTo(p.port.socket().toAbsolutePath().toString()));
            assertThat(VirtioFeature.VERSION_1.isIn(d.features()), equalTo(true));
            assertThat(d.iommu(), equalTo(false));
            assertThat(d.vringCount(), equalTo(2));
            assertThat(d.memoryRegions().size(), greaterThan(0));
            VringInfo rx = d.vring(0);
            assertThat(rx.size(), equalTo(1024));
            for (MemoryRegion r : d.memoryRegions()) {
                assertThat(r.size(), greaterThan(0L));
                assertThat(r.backendAddress() != 0, equalTo(true));
            }
            assertThat(d.stats(0).keySet(), hasItem("iotlb_misses"));
            assertThat(p.events.get(p.events.size() - 1), startsWith("new "));
        }
    }

    @Test
    void translationsReadBackWhatTheFrontendWrote() throws Exception {
        try (InProcessPair p = InProcessPair.open(1, true, pool); PacketBatch b = PacketBatch.allocate(1)) {
            // A buffer in this process's EAL memory, which virtio-user shares with the backend
            // and addresses by its virtual address (IOVA as VA).
            Traffic.fill(pool, b, 4242, 1500);
            long frontendAddress = b.packet(0).dataAddress();
            byte[] expected = Traffic.content(4242, 1500);

            Translation t = p.device.gpaToVva(frontendAddress, 1500);
            assertThat(t.isMiss(), equalTo(false));
            assertThat(t.length(), equalTo(1500L));
            byte[] got = new byte[1500];
            p.device.read(t.address(), got, 0, 1500);
            assertThat(got, equalTo(expected));

            // Without a vIOMMU, the vring's own translation is the guest-physical one.
            Translation viaVring = p.device.iovaToVva(0, frontendAddress, 1500, Access.RW);
            assertThat(viaVring, equalTo(t));

            assertThat(p.device.gpaToVva(0x10, 64).isMiss(), equalTo(true));
        }
    }

    @Test
    void callbacksComeInOrder() throws Exception {
        InProcessPair p = InProcessPair.open(1, true, pool);
        int vid = p.device.vid();
        p.close();
        assertThat(p.events.get(p.events.size() - 1), equalTo("destroy " + vid));
        assertThat(p.events.stream().filter(e -> e.startsWith("new ") || e.startsWith("destroy ")).toList(),
                contains("new " + vid, "destroy " + vid));
        assertThat(p.device.isAlive(), equalTo(false));
    }
}
