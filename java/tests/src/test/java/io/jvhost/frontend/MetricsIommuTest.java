package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.metrics.JmxMetrics;
import io.jvhost.metrics.PortSnapshot;
import io.jvhost.metrics.PrometheusFormat;
import io.jvhost.metrics.ServerSnapshot;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics of an IOMMU device, with jvhost's Java frontend and its virtual IOMMU: the IOTLB
 * hits and misses the MBeans and the Prometheus text show are DPDK's per-vring statistics, the
 * negotiated features name IOMMU_PLATFORM, and the counters equal what the frontend sent and got.
 */
class MetricsIommuTest {
    private static final MBeanServer MBS = ManagementFactory.getPlatformMBeanServer();

    @TempDir
    Path dir;

    @Test
    void iotlbHitsAndMissesAndFeaturesOfAnIommuFrontend() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(4095);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("iommu.sock")).iommu(true).open();
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0)
                        .holdNanos(5_000_000_000L);
                JmxMetrics jmx = JmxMetrics.register(server);
                VirtioNetFrontend dev = VirtioNetFrontend.builder(port.socket()).queuePairs(1).iommu(IommuMode.LAZY)
                        .open()) {
            VhostDevice d = port.awaitDevice(Duration.ofSeconds(10));
            LoopbackBackend.settle(dev, d);
            String socket = port.socket().toString();
            ObjectName portName = JmxMetrics.portName(socket);
            ObjectName queueName = JmxMetrics.queueName(socket, 0);

            int n = 3 * Traffic.SIZES.length;
            Traffic.Result r = Traffic.exchange(dev, 0, n, Traffic.SIZES, Duration.ofSeconds(20));
            assertThat(r.received().size(), is(n));
            long bytes = 0;
            for (int i = 0; i < n; i++) {
                bytes += Traffic.SIZES[i % Traffic.SIZES.length];
            }
            assertThat(MBS.getAttribute(queueName, "RxPackets"), is((long) r.sent()));
            assertThat(MBS.getAttribute(queueName, "TxPackets"), is((long) r.received().size()));
            assertThat(MBS.getAttribute(queueName, "RxBytes"), is(bytes));
            assertThat(MBS.getAttribute(queueName, "TxBytes"),
                    is(r.received().stream().mapToLong(f -> f.length).sum()));

            // the server keeps polling: DPDK's counts may still grow, so they bracket the direct reading
            long hits0 = (Long) MBS.getAttribute(queueName, "IotlbHits");
            long misses0 = (Long) MBS.getAttribute(queueName, "IotlbMisses");
            long[] direct = iotlb(d);
            long hits1 = (Long) MBS.getAttribute(queueName, "IotlbHits");
            long misses1 = (Long) MBS.getAttribute(queueName, "IotlbMisses");
            assertThat(hits0, lessThanOrEqualTo(direct[0]));
            assertThat(direct[0], lessThanOrEqualTo(hits1));
            assertThat(misses0, lessThanOrEqualTo(direct[1]));
            assertThat(direct[1], lessThanOrEqualTo(misses1));
            assertThat("LAZY: every translation started as a miss", misses0, greaterThan(0L));
            assertThat("frames of " + n + " exchanges were translated", hits0, greaterThan((long) n));
            assertThat(MBS.getAttribute(portName, "IotlbMisses"), is(MBS.getAttribute(queueName, "IotlbMisses")));

            assertThat(MBS.getAttribute(portName, "Features"), is(d.features()));
            assertThat(Arrays.asList((String[]) MBS.getAttribute(portName, "FeatureNames")), hasItem("IOMMU_PLATFORM"));
            assertThat(Arrays.asList((String[]) MBS.getAttribute(portName, "ProtocolFeatureNames")),
                    hasItem("BACKEND_REQ")); // the IOTLB MISS channel

            PortSnapshot p = ServerSnapshot.of(server).ports().get(0);
            String text = PrometheusFormat.format(ServerSnapshot.of(server));
            assertThat(text.contains("jvhost_iotlb_misses_total{port=\"" + socket + "\",queue=\"0\"} "
                    + p.queues().get(0).iotlbMisses() + "\n"), is(true));
            assertThat(text.contains("jvhost_port_feature{port=\"" + socket + "\",feature=\"IOMMU_PLATFORM\"} 1\n"),
                    is(true));
        }
    }

    private static long[] iotlb(VhostDevice d) {
        long[] r = new long[2];
        for (int v = 0; v < 2; v++) {
            Map<String, Long> s = d.stats(v);
            r[0] += s.get("iotlb_hits");
            r[1] += s.get("iotlb_misses");
        }
        return r;
    }
}
