package io.jvhost.log;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;

import io.jvhost.testing.CapturingHandler;
import io.jvhost.testing.EventLog;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.TestPmd;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What one connect and disconnect of a real frontend (testpmd's virtio-user) costs in log records
 * at the default levels: jvhost's own line each way at INFO, DPDK's VHOST_CONFIG chatter a level down.
 */
class ConnectionLogTest {
    private static String describe(List<LogRecord> records) {
        return records.stream().map(r -> r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage())
                .collect(Collectors.joining("\n"));
    }

    @Test
    void aConnectAndDisconnectCostTwoLinesAtInfo() throws Exception {
        SharedEal.get();
        Path dir = Files.createTempDirectory("jvhost-log");
        List<String> events = new CopyOnWriteArrayList<>();
        List<LogRecord> all;
        int vid;
        try (CapturingHandler dpdk = CapturingHandler.install("dpdk");
                CapturingHandler jvhost = CapturingHandler.install("io.jvhost");
                VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).listener(new EventLog(events)).open()) {
            try (TestPmd tp = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=io")) {
                VhostDevice d = port.awaitDevice(Duration.ofSeconds(20));
                vid = d.vid();
            } // testpmd quits: the frontend disconnects
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!events.contains("destroy " + vid) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(events.toString(), events.contains("destroy " + vid), equalTo(true));
            all = new java.util.ArrayList<>(dpdk.records());
            all.addAll(jvhost.records());
        }
        Files.deleteIfExists(dir);
        List<LogRecord> info = all.stream().filter(r -> r.getLevel().intValue() >= Level.INFO.intValue()).toList();
        List<LogRecord> vhostChatter = all.stream()
                .filter(r -> r.getLoggerName().startsWith("dpdk.lib.vhost") && r.getLevel().intValue() < Level.INFO.intValue())
                .toList();
        System.out.println("records at INFO and above:\n" + describe(info) + "\n(" + all.size() + " in all, "
                + vhostChatter.size() + " from DPDK's vhost below INFO)");
        assertThat(describe(info), info, hasSize(2));
        assertThat(info.get(0).getMessage(), containsString("connected"));
        assertThat(info.get(0).getMessage(), containsString(dir.resolve("s").toString()));
        assertThat(info.get(0).getMessage(), containsString("vid " + vid));
        assertThat(info.get(1).getMessage(), containsString("frontend gone from " + dir.resolve("s") + ": vid " + vid));
        // DPDK's own account of the connection is still there, a level down
        assertThat(describe(all), vhostChatter.size(), greaterThan(10));
    }
}
