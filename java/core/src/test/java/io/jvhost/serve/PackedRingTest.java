package io.jvhost.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.nullValue;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.testing.NetVhostTestpmd;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Packed virtqueues (VIRTIO_F_RING_PACKED) from DPDK's virtio-user with {@code packed_vq=1},
 * {@code in_order=1}, {@code mrg_rxbuf=0} and two queue pairs, against {@link PortServer} in sink,
 * source and loopback, and against testpmd's {@code net_vhost} on the same frontend: every frame
 * counted exactly on both sides, loopback byte-exact.
 */
class PackedRingTest {
    private static final int QUEUES = 2;
    private static final int FRAMES = 2000; // per queue
    private static final AtomicInteger VDEVS = new AtomicInteger();
    private static MbufPool pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void pool() {
        SharedEal.get();
        pool = MbufPool.create(null, 16383, 256, MbufPool.DEFAULT_DATA_ROOM);
    }

    @AfterAll
    static void closePool() {
        assertThat("every mbuf came back", pool.inUse(), equalTo(0));
        pool.close();
    }

    /** DPDK's virtio-user, in this process, on packed rings. */
    private static EthPort packedFrontend(Path socket) {
        return EthPort.createVdev("net_virtio_user_packed" + VDEVS.incrementAndGet(), "path=" + socket.toAbsolutePath()
                + ",queues=" + QUEUES + ",queue_size=1024,packed_vq=1,in_order=1,mrg_rxbuf=0", QUEUES, 1024, pool);
    }

    private static int[] sizes(int n) {
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = i % 3 == 0 ? 1500 : 60 + i % 200;
        }
        return s;
    }

    /** Sends FRAMES frames on each queue, numbered by queue, until the backend took them all. */
    private static void send(EthPort guest) {
        int[] sizes = sizes(FRAMES);
        for (int q = 0; q < QUEUES; q++) {
            try (PacketBatch tx = PacketBatch.allocate(32)) {
                for (int i = 0; i < FRAMES; i += 32) {
                    int n = Math.min(32, FRAMES - i);
                    Traffic.fill(pool, tx, q * FRAMES + i, java.util.Arrays.copyOfRange(sizes, i, i + n));
                    int queue = q;
                    assertThat("queue " + q + " frame " + i + " taken", Traffic.pollUntil(5_000, () -> {
                        guest.txBurst(queue, tx);
                        return tx.isEmpty();
                    }), equalTo(true));
                }
            }
        }
    }

    /**
     * Loopback: sends FRAMES frames on each queue and receives them back as they come, checking
     * each is the next one, byte for byte; returns the frames received per queue.
     */
    private static long[] exchange(EthPort guest) {
        long[] got = new long[QUEUES];
        int[] sizes = sizes(FRAMES);
        try (PacketBatch tx = PacketBatch.allocate(32); PacketBatch rx = PacketBatch.allocate(32)) {
            for (int q = 0; q < QUEUES; q++) {
                int sent = 0;
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (got[q] < FRAMES && System.nanoTime() < deadline) {
                    if (tx.isEmpty() && sent < FRAMES) {
                        int n = Math.min(32, FRAMES - sent);
                        Traffic.fill(pool, tx, q * FRAMES + sent, java.util.Arrays.copyOfRange(sizes, sent, sent + n));
                        sent += n;
                    }
                    guest.txBurst(q, tx);
                    int n = guest.rxBurst(q, rx);
                    for (int i = 0; i < n; i++) {
                        int k = (int) got[q] + i;
                        assertThat("queue " + q + ", in order and byte-exact",
                                k < FRAMES ? Traffic.mismatch(rx.packet(i), q * FRAMES + k, sizes[k]) : "extra frame " + k,
                                nullValue());
                    }
                    got[q] += n;
                    rx.clear();
                }
                assertThat("queue " + q + ": all sent", tx.isEmpty() && sent == FRAMES, equalTo(true));
            }
        }
        return got;
    }

    /** Receives on each queue until nothing came for half a second; returns the frames per queue. */
    private static long[] drain(EthPort guest) {
        long[] got = new long[QUEUES];
        try (PacketBatch rx = PacketBatch.allocate(32)) {
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < 500_000_000L) {
                for (int q = 0; q < QUEUES; q++) {
                    int n = guest.rxBurst(q, rx);
                    if (n > 0) {
                        quietSince = System.nanoTime();
                    }
                    got[q] += n;
                    rx.clear();
                }
            }
        }
        return got;
    }

    private static void assertPacked(VhostDevice d) {
        assertThat("packed rings negotiated", VirtioFeature.RING_PACKED.isIn(d.features()), equalTo(true));
        assertThat("in order", VirtioFeature.IN_ORDER.isIn(d.features()), equalTo(true));
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"SINK", "SOURCE", "LOOPBACK"})
    void portServerCountsEveryFrameOnPackedRings(Mode mode) throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).maxQueuePairs(QUEUES).open();
                EthPort guest = packedFrontend(port.socket())) {
            assertPacked(port.awaitDevice(Duration.ofSeconds(10)));
            long[] received;
            PortServer server = PortServer.start(List.of(port), mode, pool, 64, 0);
            // a loaded CI machine may leave the guest's thread off the CPU for longer than the
            // default hold time: here a frame may wait, never be dropped
            server.holdNanos(10_000_000_000L);
            try {
                switch (mode) {
                    case SOURCE -> {
                        received = new long[QUEUES];
                        long deadline = System.nanoTime() + 10_000_000_000L;
                        try (PacketBatch rx = PacketBatch.allocate(32)) {
                            while (received[0] + received[1] < 50_000 && System.nanoTime() < deadline) {
                                for (int q = 0; q < QUEUES; q++) {
                                    received[q] += guest.rxBurst(q, rx);
                                    rx.clear();
                                }
                            }
                        }
                    }
                    case SINK -> {
                        send(guest);
                        received = new long[QUEUES];
                        assertThat("the backend counted every frame", Traffic.pollUntil(10_000, () ->
                                server.counters(0, 0).rxPackets() + server.counters(0, 1).rxPackets()
                                        >= (long) QUEUES * FRAMES), equalTo(true));
                    }
                    case LOOPBACK -> received = exchange(guest);
                    default -> throw new AssertionError(mode);
                }
            } finally {
                server.close();
            }
            long[] rest = drain(guest);
            for (int q = 0; q < QUEUES; q++) {
                QueueCounters c = server.counters(0, q);
                String context = mode + " queue " + q;
                switch (mode) {
                    case SINK -> assertThat(context, c.rxPackets(), equalTo((long) FRAMES));
                    case LOOPBACK -> {
                        assertThat(context, c.rxPackets(), equalTo((long) FRAMES));
                        assertThat(context, received[q], equalTo((long) FRAMES));
                        assertThat(context, c.txPackets(), equalTo((long) FRAMES));
                        assertThat(context, rest[q], equalTo(0L));
                    }
                    case SOURCE -> {
                        assertThat(context + ": frames moved", received[q], greaterThan(1000L));
                        assertThat(context + ": what the backend counted sent, the guest received",
                                received[q] + rest[q], equalTo(c.txPackets()));
                    }
                    default -> throw new AssertionError(mode);
                }
                // source: what waited when the server stopped is freed and counted as dropped
                if (mode != Mode.SOURCE) {
                    assertThat(context + ": nothing dropped", c.dropped(), equalTo(0L));
                }
            }
        }
    }

    /** The yardstick on the same frontend: testpmd's net_vhost, receiving (rxonly) or echoing (io). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"rxonly", "io"})
    void netVhostCountsTheSameOnPackedRings(String forwarding) throws Exception {
        try (NetVhostTestpmd backend = NetVhostTestpmd.start(dir,
                        NetVhostTestpmd.options().queues(QUEUES).fwdMode(forwarding).retry(forwarding.equals("io")));
                EthPort guest = packedFrontend(backend.socket())) {
            long[] echoed = null;
            if (forwarding.equals("io")) {
                echoed = exchange(guest);
            } else {
                send(guest);
            }
            assertThat(Traffic.pollUntil(10_000, () -> {
                try {
                    return backend.portStats().get("RX-packets") == (long) QUEUES * FRAMES;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }), equalTo(true));
            Map<String, Long> x = backend.xstats();
            for (int q = 0; q < QUEUES; q++) {
                assertThat("net_vhost queue " + q, x.get("rx_q" + q + "_good_packets"), equalTo((long) FRAMES));
                if (echoed != null) {
                    assertThat("echoed on queue " + q, echoed[q], equalTo((long) FRAMES));
                    assertThat("net_vhost queue " + q, x.get("tx_q" + q + "_good_packets"), equalTo((long) FRAMES));
                }
            }
        }
    }
}
