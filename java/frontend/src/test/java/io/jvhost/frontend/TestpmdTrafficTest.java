package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.jvhost.protocol.VirtioFeature;
import io.jvhost.testing.NetVhostTestpmd;

/**
 * The Java frontend against DPDK's own vhost-user backend ({@code dpdk-testpmd}, {@code net_vhost}
 * with {@code iommu-support=1}, io forwarding on one port in loop topology: every frame received
 * on queue q goes back out on queue q unchanged, with tx retry so none is dropped while the
 * backend waits for an IOTLB update).
 */
class TestpmdTrafficTest {
    static final int QUEUES = 2;

    @TempDir
    static Path dir;
    static NetVhostTestpmd testpmd;

    @BeforeAll
    static void startTestpmd() throws Exception {
        testpmd = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().queues(QUEUES).iommu(true));
    }

    @AfterAll
    static void stopTestpmd() {
        if (testpmd != null) {
            testpmd.close();
        }
    }

    static void assertEchoed(VirtioNetFrontend dev, int perQueue) throws Exception {
        Map<String, Long> before = testpmd.portStats();
        List<Traffic.Result> results = new ArrayList<>();
        for (int q = 0; q < dev.queuePairs(); q++) {
            results.add(Traffic.exchange(dev, q, perQueue, Traffic.SIZES, Duration.ofSeconds(20)));
        }
        for (int q = 0; q < dev.queuePairs(); q++) {
            Traffic.Result r = results.get(q);
            assertThat("sent on queue " + q, r.sent(), is(perQueue));
            assertThat("received on queue " + q, r.received().size(), is(perQueue));
            for (int i = 0; i < perQueue; i++) {
                byte[] want = Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length]);
                assertThat("frame " + i + " on queue " + q + " (" + want.length + " bytes)", r.received().get(i), is(want));
            }
        }
        Map<String, Long> after = testpmd.portStats();
        long total = (long) perQueue * dev.queuePairs();
        assertThat("testpmd RX-packets", after.get("RX-packets") - before.get("RX-packets"), is(total));
        assertThat("testpmd TX-packets", after.get("TX-packets") - before.get("TX-packets"), is(total));
        assertThat(testpmd.isAlive(), is(true));
    }

    @ParameterizedTest(name = "iommu={0} mergeable={1}")
    @CsvSource({"OFF,true", "OFF,false", "QEMU,true", "QEMU,false", "EAGER,true"})
    void framesOf60To9000BytesComeBackByteExactOnEveryQueue(IommuMode iommu, boolean mergeable) throws Exception {
        try (VirtioNetFrontend dev = VirtioNetFrontend.builder(testpmd.socket()).queuePairs(QUEUES).iommu(iommu)
                .mergeableRxBuffers(mergeable).open()) {
            assertThat(VirtioFeature.IOMMU_PLATFORM.isIn(dev.features()), is(iommu.enabled()));
            assertThat(VirtioFeature.NET_MRG_RXBUF.isIn(dev.features()), is(mergeable));
            assertEchoed(dev, 3 * Traffic.SIZES.length);
            if (iommu.enabled()) {
                List<IotlbLog.Event> log = dev.iommu().log().events();
                assertThat(log.stream().filter(e -> e.ack() != 0).toList(), empty());
                assertThat(log.stream().filter(e -> e.type() == IotlbLog.Type.MISS).map(IotlbLog.Event::outcome).toList(),
                        everyItem(is(IotlbLog.MissOutcome.ANSWERED)));
            }
        }
    }

    /**
     * Packed virtqueues against {@code net_vhost} (DPDK 22.11 offers VIRTIO_F_RING_PACKED, with
     * {@code iommu-support=1} too). With the IOMMU only eager mapping: a transmit miss on a packed
     * ring loses the frame in DPDK 22.11 (PackedIommuTest); the only MISSes here are the batch
     * dequeue's read-write asks for transmit buffers, refused, with nothing lost.
     */
    @ParameterizedTest(name = "packed iommu={0} mergeable={1}")
    @CsvSource({"OFF,true", "OFF,false", "EAGER,true"})
    void packedRingsComeBackByteExactOnEveryQueue(IommuMode iommu, boolean mergeable) throws Exception {
        try (VirtioNetFrontend dev = VirtioNetFrontend.builder(testpmd.socket()).queuePairs(QUEUES).iommu(iommu)
                .mergeableRxBuffers(mergeable).packed(true).open()) {
            assertThat(VirtioFeature.RING_PACKED.isIn(dev.features()), is(true));
            assertEchoed(dev, 3 * Traffic.SIZES.length);
            if (iommu.enabled()) {
                for (IotlbLog.Event e : dev.iommu().log().events()) {
                    if (e.type() == IotlbLog.Type.MISS && e.outcome() != IotlbLog.MissOutcome.ANSWERED) {
                        assertThat(e.toString(), e.perm(), is(io.jvhost.protocol.Access.RW.wire()));
                        assertThat(e.toString(), PackedIommuTest.in(dev.layout(1), e.iova())
                                || PackedIommuTest.in(dev.layout(3), e.iova()), is(true));
                    }
                }
            }
        }
    }

    @Test
    void severalRegionsOfGuestMemory() throws Exception {
        try (VirtioNetFrontend dev = VirtioNetFrontend.builder(testpmd.socket()).queuePairs(QUEUES)
                .iommu(IommuMode.QEMU).regionSize(2L << 20).open()) {
            assertThat(dev.memory().regions().size(), greaterThan(3));
            assertEchoed(dev, 2 * Traffic.SIZES.length);
        }
    }

    @Test
    void reconnectsAfterClose() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (VirtioNetFrontend dev = VirtioNetFrontend.builder(testpmd.socket()).iommu(IommuMode.LAZY).open()) {
                assertEchoed(dev, 10);
            }
        }
    }
}
