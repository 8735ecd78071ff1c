package io.jvhost.metrics;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.vhost.VhostUserPort;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.Attribute;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Run in a JVM of its own by {@link MetricsAfterEalCloseTest}: EAL is closed under a running
 * loopback server with traffic, while a thread reads every MBean attribute and scrapes the
 * endpoint in a loop; then everything is read again. Prints what it saw; exits 0 unless a read
 * failed.
 */
public final class MetricsAfterEalClose {
    private MetricsAfterEalClose() {
    }

    public static void main(String[] args) throws Exception {
        MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
        Path dir = Files.createTempDirectory("jvhost-metrics-eal");
        Eal eal = Eal.start(EalConfig.builder().memoryMb(256).build());
        MbufPool pool = MbufPool.create(4095);
        VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
        EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
        PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0);
        JmxMetrics jmx = JmxMetrics.register(server);
        PrometheusEndpoint http = PrometheusEndpoint.start(new InetSocketAddress("127.0.0.1", 0), server);
        port.awaitDevice(Duration.ofSeconds(10));
        FrontendTraffic traffic = new FrontendTraffic(guest, pool, 200);
        traffic.finish(() -> traffic.receivedPackets.get() + server.counters(0, 0).dropped()
                == traffic.sentPackets.get());
        long sent = traffic.sentPackets.get();

        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong reads = new AtomicLong();
        Thread reader = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    for (ObjectName n : jmx.names()) {
                        readAll(mbs, n);
                    }
                    scrape(http);
                    reads.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "metrics-reader");
        reader.start();
        while (reads.get() < 3) {
            Thread.sleep(1);
        }
        eal.close(); // under the running server, the registered MBeans and the endpoint
        long atClose = reads.get();
        while (reads.get() < atClose + 3 && failure.get() == null && reader.isAlive()) {
            Thread.sleep(1);
        }
        reader.interrupt();
        reader.join();
        if (failure.get() != null) {
            failure.get().printStackTrace(System.out);
            System.exit(1);
        }
        System.out.println("reads during and after close: " + reads.get());
        ObjectName p = JmxMetrics.portName(port.socket().toString());
        for (String a : List.of("Open", "Connected", "Vid", "ServerRunning", "RxPackets", "Features")) {
            System.out.println(a + "=" + mbs.getAttribute(p, a));
        }
        System.out.println("sent=" + sent);
        String text = scrape(http);
        System.out.println(text.lines().filter(l -> l.startsWith("jvhost_port_open") || l.startsWith("jvhost_rx_packets"))
                .reduce((a, b) -> a + "\n" + b).orElse("(none)"));
        System.out.println("json=" + JsonStats.line(null, ServerSnapshot.of(server)));
        try {
            server.close();
        } catch (IllegalStateException e) {
            System.out.println("server: " + e.getMessage()); // its thread met the closed EAL
        }
        http.close();
        jmx.close();
        System.out.println("registered after close: " + mbs.isRegistered(p));
        Files.deleteIfExists(dir);
    }

    private static void readAll(MBeanServer mbs, ObjectName n) throws Exception {
        String[] names = Arrays.stream(mbs.getMBeanInfo(n).getAttributes()).map(MBeanAttributeInfo::getName)
                .toArray(String[]::new);
        List<Attribute> got = mbs.getAttributes(n, names).asList();
        if (got.size() != names.length) {
            throw new AssertionError("read " + got.size() + " of " + names.length + " attributes of " + n);
        }
    }

    private static String scrape(PrometheusEndpoint http) throws Exception {
        HttpURLConnection c = (HttpURLConnection) http.uri().toURL().openConnection();
        if (c.getResponseCode() != 200) {
            throw new AssertionError("HTTP " + c.getResponseCode());
        }
        try (var in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
