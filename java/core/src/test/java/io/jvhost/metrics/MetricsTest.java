package io.jvhost.metrics;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.startsWith;

import io.jvhost.ethdev.EthPort;
import io.jvhost.ethdev.EthStats;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.Attribute;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics of a loopback server with DPDK's virtio-user as the frontend: JMX attributes and the
 * Prometheus endpoint during traffic (never ahead of what the frontend sent) and after it (equal to
 * the server's counters and to the frontend's own ethdev counts), and reads after the frontend,
 * the port and the registration are gone.
 */
class MetricsTest {
    private static final MBeanServer MBS = ManagementFactory.getPlatformMBeanServer();

    @TempDir
    Path dir;

    @Test
    void jmxAttributesFollowTrafficAndEqualTheFrontendsCountsAfterIt() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(8191);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("jmx.sock")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0);
                JmxMetrics jmx = JmxMetrics.register(server)) {
            VhostDevice device = port.awaitDevice(Duration.ofSeconds(10));
            String socket = port.socket().toString();
            ObjectName portName = JmxMetrics.portName(socket);
            ObjectName queueName = JmxMetrics.queueName(socket, 0);
            assertThat(jmx.names(), equalTo(List.of(portName, queueName)));
            assertThat(MBS.isRegistered(portName), equalTo(true));
            assertThat(MBS.isRegistered(queueName), equalTo(true));
            assertThat(portName.toString(), startsWith("io.jvhost:"));

            assertThat(MBS.getAttribute(portName, "Connected"), equalTo(true));
            assertThat(MBS.getAttribute(portName, "Open"), equalTo(true));
            assertThat(MBS.getAttribute(portName, "Vid"), equalTo(device.vid()));
            assertThat(MBS.getAttribute(portName, "Features"), equalTo(device.features()));
            assertThat(MBS.getAttribute(portName, "ProtocolFeatures"), equalTo(device.protocolFeatures()));
            List<String> names = Arrays.asList((String[]) MBS.getAttribute(portName, "FeatureNames"));
            assertThat(names, hasItem("VERSION_1"));
            assertThat(names, hasItem("NET_MRG_RXBUF")); // asked for by virtioUser(..., mergeable true, ...)

            FrontendTraffic traffic = new FrontendTraffic(guest, pool, 3000);
            int reads = 0;
            long lastRx = 0;
            while (traffic.isRunning()) {
                long received = traffic.receivedPackets.get();
                long rx = (Long) MBS.getAttribute(queueName, "RxPackets");
                long tx = (Long) MBS.getAttribute(queueName, "TxPackets");
                long sent = traffic.sentPackets.get();
                assertThat("server rx never ahead of the frontend's tx", rx, lessThanOrEqualTo(sent));
                // the server counts a burst once its enqueue returned: the frontend may have it a burst earlier
                assertThat("the frontend never receives more than the server sent", received,
                        lessThanOrEqualTo(tx + PortServer.BURST));
                assertThat("counters only grow", rx, greaterThanOrEqualTo(lastRx));
                lastRx = rx;
                reads++;
                Thread.sleep(2);
            }
            QueueCounters c = server.counters(0, 0);
            traffic.finish(() -> traffic.receivedPackets.get() + c.dropped() == traffic.sentPackets.get());
            assertThat("attributes read during traffic", reads, greaterThan(0));

            EthStats frontend = guest.stats();
            assertThat(frontend.txPackets(), equalTo(traffic.sentPackets.get()));
            assertThat(frontend.txPackets(), greaterThan(0L));
            Map<String, Object> queue = attributes(queueName);
            assertThat(queue.get("RxPackets"), equalTo(frontend.txPackets()));
            assertThat(queue.get("RxBytes"), equalTo(frontend.txBytes()));
            assertThat(queue.get("TxPackets"), equalTo(frontend.rxPackets()));
            assertThat(queue.get("TxBytes"), equalTo(frontend.rxBytes()));
            assertThat(queue.get("Dropped"), equalTo(frontend.txPackets() - frontend.rxPackets()));
            assertThat(queue.get("RxPackets"), equalTo(c.rxPackets()));
            assertThat(queue.get("TxPackets"), equalTo(c.txPackets()));
            assertThat(queue.get("Dropped"), equalTo(c.dropped()));
            long[] iotlb = iotlb(device);
            assertThat(queue.get("IotlbHits"), equalTo(iotlb[0]));
            assertThat(queue.get("IotlbMisses"), equalTo(iotlb[1]));
            Map<String, Object> total = attributes(portName);
            assertThat(total.get("RxPackets"), equalTo(c.rxPackets()));
            assertThat(total.get("RxBytes"), equalTo(c.rxBytes()));
            assertThat(total.get("TxBytes"), equalTo(c.txBytes()));
            assertThat(total.get("QueuePairs"), equalTo(1));
        }
    }

    @Test
    void readsAfterTheFrontendThePortAndTheServerAreGoneReportThatAndCloseUnregisters() throws Exception {
        SharedEal.get();
        ObjectName portName;
        ObjectName queueName;
        try (MbufPool pool = MbufPool.create(4095);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("gone.sock")).open();
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0)) {
            JmxMetrics jmx = JmxMetrics.register(server);
            portName = JmxMetrics.portName(port.socket().toString());
            queueName = JmxMetrics.queueName(port.socket().toString(), 0);
            long sent;
            try (EthPort guest = EthPort.virtioUser(port.socket(), 1, false, pool)) {
                port.awaitDevice(Duration.ofSeconds(10));
                FrontendTraffic traffic = new FrontendTraffic(guest, pool, 10);
                traffic.finish(() -> traffic.receivedPackets.get() + server.counters(0, 0).dropped()
                        == traffic.sentPackets.get());
                sent = traffic.sentPackets.get();
                assertThat(MBS.getAttribute(portName, "Connected"), equalTo(true));
            }
            // the frontend left: its device is destroyed, the counts stay
            assertThat(Poll.await(() -> port.currentDevice() == null), equalTo(true));
            Map<String, Object> a = attributes(portName);
            assertThat(a.get("Connected"), equalTo(false));
            assertThat(a.get("Vid"), equalTo(-1));
            assertThat(a.get("Features"), equalTo(0L));
            assertThat(a.get("RxPackets"), equalTo(sent));
            assertThat(a.get("Open"), equalTo(true));

            server.close();
            port.close();
            a = attributes(portName);
            assertThat(a.get("Open"), equalTo(false));
            assertThat(a.get("ServerRunning"), equalTo(false));
            assertThat(a.get("Connected"), equalTo(false));
            assertThat(a.get("RxPackets"), equalTo(sent));
            assertThat(attributes(queueName).get("RxPackets"), equalTo(sent));
            String text = PrometheusFormat.format(ServerSnapshot.of(server));
            assertThat(text.contains("jvhost_port_open{port=\"" + port.socket() + "\"} 0\n"), equalTo(true));

            jmx.close();
            assertThat(MBS.isRegistered(portName), equalTo(false));
            assertThat(MBS.isRegistered(queueName), equalTo(false));
            jmx.close(); // idempotent
        }
    }

    @Test
    void inSinkModeOnlyTheReceiveSideCounts() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(4095);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("sink.sock")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, false, pool);
                PortServer server = PortServer.start(List.of(port), Mode.SINK, pool, 64, 0);
                JmxMetrics jmx = JmxMetrics.register(server)) {
            port.awaitDevice(Duration.ofSeconds(10));
            FrontendTraffic traffic = new FrontendTraffic(guest, pool, 50);
            traffic.finish(() -> server.counters(0, 0).rxPackets() == traffic.sentPackets.get());
            Map<String, Object> q = attributes(JmxMetrics.queueName(port.socket().toString(), 0));
            assertThat(q.get("RxPackets"), equalTo(guest.stats().txPackets()));
            assertThat(q.get("RxBytes"), equalTo(guest.stats().txBytes()));
            assertThat(q.get("RxBytes"), equalTo(traffic.sentBytes.get()));
            assertThat(q.get("TxPackets"), equalTo(0L));
            assertThat(q.get("TxBytes"), equalTo(0L));
            assertThat(q.get("Dropped"), equalTo(0L));
            String text = PrometheusFormat.format(ServerSnapshot.of(server));
            String label = "{port=\"" + port.socket() + "\",queue=\"0\"} ";
            assertThat(text.contains("jvhost_rx_bytes_total" + label + traffic.sentBytes.get() + "\n"), equalTo(true));
            assertThat(text.contains("jvhost_tx_packets_total" + label + "0\n"), equalTo(true));
        }
    }

    @Test
    void aSecondRegistrationOfTheSamePortIsRefusedAndLeavesNothingBehind() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(2047);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("twice.sock")).maxQueuePairs(2).open();
                PortServer server = PortServer.start(List.of(port), Mode.SINK, pool, 64, 0);
                JmxMetrics jmx = JmxMetrics.register(server)) {
            assertThat(jmx.names().size(), equalTo(3)); // the port and its two queue pairs
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> JmxMetrics.register(server));
            assertThat(e.getMessage().contains("registered already"), equalTo(true));
            for (ObjectName n : jmx.names()) {
                assertThat(MBS.isRegistered(n), equalTo(true)); // the first registration's, untouched
            }
        }
    }

    @Test
    void countersForMoreQueuePairsThanAnyPortServesAreRefused() throws Exception {
        SharedEal.get();
        try (VhostUserPort one = VhostUserPort.builder(dir.resolve("qp1.sock")).open();
                VhostUserPort two = VhostUserPort.builder(dir.resolve("qp2.sock")).maxQueuePairs(2).open()) {
            assertThat(PortCounters.of(List.of(one, two), 2).queuePairs(), equalTo(2));
            for (int bad : new int[] {0, 3, Integer.MAX_VALUE}) {
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> PortCounters.of(List.of(one, two), bad));
                assertThat(e.getMessage(), e.getMessage().contains(String.valueOf(bad)), equalTo(true));
            }
        }
    }

    @Test
    void prometheusScrapesDuringAndAfterTrafficMatchTheFrontendsCounts() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(8191);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("prom \"q\".sock")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0);
                PrometheusEndpoint http = PrometheusEndpoint.start(new InetSocketAddress("127.0.0.1", 0), server)) {
            port.awaitDevice(Duration.ofSeconds(10));
            assertThat(http.address().getPort(), greaterThan(0));
            assertThat(http.uri().toString(), equalTo("http://127.0.0.1:" + http.address().getPort() + "/metrics"));
            String label = "{port=\"" + PrometheusFormat.escapeLabel(port.socket().toString()) + "\",queue=\"0\"}";

            FrontendTraffic traffic = new FrontendTraffic(guest, pool, 3000);
            int scrapes = 0;
            while (traffic.isRunning()) {
                long received = traffic.receivedPackets.get();
                Map<String, Long> m = scrape(http.uri());
                long sent = traffic.sentPackets.get();
                assertThat(m.get("jvhost_rx_packets_total" + label), lessThanOrEqualTo(sent));
                assertThat(received, lessThanOrEqualTo(m.get("jvhost_tx_packets_total" + label) + PortServer.BURST));
                assertThat(m.get("jvhost_port_connected{port=\"" + PrometheusFormat.escapeLabel(port.socket().toString())
                        + "\"}"), equalTo(1L));
                scrapes++;
            }
            traffic.finish(() -> traffic.receivedPackets.get() + server.counters(0, 0).dropped()
                    == traffic.sentPackets.get());
            assertThat("scrapes during traffic", scrapes, greaterThan(0));

            EthStats frontend = guest.stats();
            Map<String, Long> m = scrape(http.uri());
            assertThat(m.get("jvhost_rx_packets_total" + label), equalTo(frontend.txPackets()));
            assertThat(m.get("jvhost_rx_bytes_total" + label), equalTo(frontend.txBytes()));
            assertThat(m.get("jvhost_tx_packets_total" + label), equalTo(frontend.rxPackets()));
            assertThat(m.get("jvhost_tx_bytes_total" + label), equalTo(frontend.rxBytes()));
            assertThat(m.get("jvhost_dropped_packets_total" + label), equalTo(frontend.txPackets() - frontend.rxPackets()));
            assertThat(m.get("jvhost_rx_packets_total" + label), greaterThan(0L));

            HttpURLConnection notFound = (HttpURLConnection) http.uri().resolve("/nothing").toURL().openConnection();
            assertThat(notFound.getResponseCode(), equalTo(404));
            notFound.disconnect();
        }
    }

    @Test
    void jsonLinesCarryTheSnapshotsCountersAndRates() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(4095);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("json\\\"\t.sock")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0)) {
            port.awaitDevice(Duration.ofSeconds(10));
            ServerSnapshot before = ServerSnapshot.of(server);
            FrontendTraffic traffic = new FrontendTraffic(guest, pool, 100);
            traffic.finish(() -> traffic.receivedPackets.get() + server.counters(0, 0).dropped()
                    == traffic.sentPackets.get());
            ServerSnapshot after = ServerSnapshot.of(server);
            String line = JsonStats.line(before, after);
            assertThat(line.contains("\n"), equalTo(false));
            assertThat(line, startsWith("{\"time\":\"" + after.time() + "\""));
            // the socket's quote, backslash and tab are escaped
            assertThat(line.contains("\"socket\":" + JsonStats.quote(port.socket().toString())), equalTo(true));
            assertThat(JsonStats.quote("a\"b\\c\td\u0001"), equalTo("\"a\\\"b\\\\c\\td\\u0001\""));
            long rx = number(line, "rx_packets");
            assertThat(rx, equalTo(guest.stats().txPackets()));
            double secs = (after.nanos() - before.nanos()) / 1e9;
            double pps = Double.parseDouble(field(line, "rx_pps"));
            long rxBefore = before.ports().get(0).queues().get(0).rxPackets();
            assertThat(Math.abs(pps - (rx - rxBefore) / secs), lessThanOrEqualTo(0.001 + pps * 1e-9));
            assertThat(field(JsonStats.line(null, after), "rx_pps"), equalTo("0.000"));
        }
    }

    private static long number(String json, String name) {
        return Long.parseLong(field(json, name));
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(-?[0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + name + " in " + json);
        }
        return m.group(1);
    }

    /** Every attribute of an MBean, read through the MBean server as a JMX client would. */
    private static Map<String, Object> attributes(ObjectName name) throws Exception {
        String[] names = Arrays.stream(MBS.getMBeanInfo(name).getAttributes()).map(MBeanAttributeInfo::getName)
                .toArray(String[]::new);
        Map<String, Object> m = new HashMap<>();
        for (Object o : MBS.getAttributes(name, names)) {
            Attribute a = (Attribute) o;
            m.put(a.getName(), a.getValue());
        }
        assertThat("every attribute readable", m.keySet().size(), equalTo(names.length));
        return m;
    }

    private static long[] iotlb(VhostDevice d) {
        long[] r = new long[2];
        for (int v = 0; v < d.vringCount(); v++) {
            Map<String, Long> s = d.stats(v);
            r[0] += s.getOrDefault("iotlb_hits", 0L);
            r[1] += s.getOrDefault("iotlb_misses", 0L);
        }
        return r;
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{.*\\})? (-?[0-9]+)");

    /**
     * Scrapes and parses the text format: every sample's family has HELP and TYPE lines before it,
     * counters end in _total.
     */
    static Map<String, Long> scrape(URI uri) throws Exception {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        assertThat(c.getResponseCode(), equalTo(200));
        assertThat(c.getContentType(), equalTo(PrometheusFormat.CONTENT_TYPE));
        String body;
        try (java.io.InputStream in = c.getInputStream()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Long> samples = new HashMap<>();
        Map<String, String> types = new HashMap<>();
        java.util.Set<String> helped = new java.util.HashSet<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("# HELP ")) {
                helped.add(line.split(" ")[2]);
            } else if (line.startsWith("# TYPE ")) {
                String[] w = line.split(" ");
                types.put(w[2], w[3]);
            } else {
                Matcher m = SAMPLE.matcher(line);
                assertThat("a sample line: " + line, m.matches(), equalTo(true));
                String family = m.group(1);
                assertThat(family + " has HELP", helped.contains(family), equalTo(true));
                assertThat(family + " has TYPE", types.containsKey(family), equalTo(true));
                if (types.get(family).equals("counter")) {
                    assertThat(family, family.endsWith("_total"), equalTo(true));
                }
                samples.put(family + (m.group(2) == null ? "" : m.group(2)), Long.parseLong(m.group(3)));
            }
        }
        return samples;
    }

    /** Polling without a frontend to drive. */
    private static final class Poll {
        static boolean await(java.util.function.BooleanSupplier done) throws InterruptedException {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline) {
                if (done.getAsBoolean()) {
                    return true;
                }
                Thread.sleep(10);
            }
            return false;
        }
    }
}
