package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * jvhost as a virtual switch: two QEMU guests on the two ports of one {@code serve --mode forward}.
 * They ping each other (every echo request must get its reply), then guest A sends about 2 MB of
 * {@code seq} output to guest B over TCP (busybox nc), and both print the MD5 of what they sent and
 * received. Every frame is accounted for: what a guest sent is serve's rx on its port, and serve's
 * rx = what it delivered to the other guest (= that guest's rx) + what it dropped. See docs/guests.md.
 */
class TwoGuestsTest {
    /** Echo requests each guest sends the other. */
    static final int PINGS = 50;
    /** Lines of {@code seq} guest A sends: 1,988,895 bytes. */
    static final int BULK_LINES = 300_000;
    /** Two guests boot one after the other on a busy 2-CPU machine, then talk: the bound for both. */
    static final long GUEST_SECONDS = 300;
    static final Pattern PING = Pattern.compile("JVHOST-PING (\\d+) packets transmitted, (\\d+) packets received");
    static final Pattern BULK = Pattern.compile("JVHOST-BULK (role=.*)");

    @BeforeEach
    void needQemuAndGuest() throws Exception {
        QemuGuest.requireImage();
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void forwardBetweenTwoGuests() throws Exception {
        run(false);
    }

    /** Both guests behind intel-iommu in strict mode: every buffer a fresh IOVA, on both ports. */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void forwardBetweenTwoGuestsWithIommu() throws Exception {
        run(true);
    }

    void run(boolean iommu) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Files.createTempDirectory("jvhost-two-guests");
        Path sockA = dir.resolve("a.sock");
        Path sockB = dir.resolve("b.sock");
        List<String> args = new ArrayList<>(List.of("serve", "--socket", sockA.toString(), "--socket", sockB.toString(),
                "--mode", "forward", "--stats-period", "0"));
        if (iommu) {
            // fresh receive buffers miss in the IOTLB on first use; under TCG QEMU's answer can take
            // longer than the default 20 ms hold (docs/guests.md, Findings)
            args.addAll(List.of("--iommu", "--hold-ms", "1000"));
        }
        ServeProcess serve = null;
        QemuGuest a = null;
        QemuGuest b = null;
        try {
            serve = ServeProcess.start(args, dir.resolve("serve.log"));
            long t1 = System.nanoTime();
            String common = "jvhost.count=" + PINGS + " jvhost.interval=0.1 jvhost.settle=2 jvhost.bulk=" + BULK_LINES;
            QemuGuest.Config ca = QemuGuest.Config.plain(common + " jvhost.pair=send jvhost.ip=10.0.0.1/24"
                    + " jvhost.peer=10.0.0.2 jvhost.peermac=02:00:00:00:00:02").withMac("02:00:00:00:00:01").withIommu(iommu);
            QemuGuest.Config cb = QemuGuest.Config.plain(common + " jvhost.pair=recv jvhost.ip=10.0.0.2/24"
                    + " jvhost.peer=10.0.0.1 jvhost.peermac=02:00:00:00:00:01").withMac("02:00:00:00:00:02").withIommu(iommu);
            a = QemuGuest.start("a", QemuGuest.command(ca, sockA, QemuGuest.consoleOf("a", dir)), dir);
            b = QemuGuest.start("b", QemuGuest.command(cb, sockB, QemuGuest.consoleOf("b", dir)), dir);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUEST_SECONDS);
            QemuGuest ga0 = a;
            QemuGuest gb0 = b;
            ServeProcess sv = serve;
            a.awaitExit(Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime())),
                    () -> gb0.diagnostics() + "\n--- serve ---\n" + QemuGuest.tail(sv.log(), 30));
            b.awaitExit(Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime())),
                    () -> ga0.diagnostics() + "\n--- serve ---\n" + QemuGuest.tail(sv.log(), 30));
            long t2 = System.nanoTime();
            String both = a.diagnostics() + b.diagnostics();
            assertThat("qemu a exit status" + both, a.process.exitValue(), equalTo(0));
            assertThat("qemu b exit status" + both, b.process.exitValue(), equalTo(0));

            String served = serve.stop();
            String context = "iommu=" + iommu + both + "\n--- serve ---\n" + served;
            for (int port = 0; port < 2; port++) { // vids go in the order the guests connect
                assertThat(context, Pattern.compile("port" + port + ": frontend connected \\(vid \\d+, 2 vrings"
                        + (iommu ? ", IOMMU\\)" : "\\)")).matcher(served).find(), equalTo(true));
            }
            Map<String, String> ga = a.counters(context);
            Map<String, String> gb = b.counters(context);
            assertThat(context, ga.get("features").charAt(QemuGuest.F_ACCESS_PLATFORM) == '1', equalTo(iommu));
            assertThat(context, gb.get("features").charAt(QemuGuest.F_ACCESS_PLATFORM) == '1', equalTo(iommu));

            // every echo request got its reply, both ways
            for (QemuGuest g : List.of(a, b)) {
                Matcher m = PING.matcher(g.console());
                assertThat(g.name + " printed its ping summary" + context, m.find(), equalTo(true));
                assertThat(g.name + " echo requests sent" + context, Integer.parseInt(m.group(1)), equalTo(PINGS));
                assertThat(g.name + " echo replies received" + context, Integer.parseInt(m.group(2)), equalTo(PINGS));
            }

            // the bulk transfer arrived byte-exact
            Map<String, String> sent = QemuGuest.keyValues(BULK, a.console(), "a printed no JVHOST-BULK line" + context);
            Map<String, String> received = QemuGuest.keyValues(BULK, b.console(), "b printed no JVHOST-BULK line" + context);
            assertThat(context, sent.get("role"), equalTo("send"));
            assertThat(context, received.get("role"), equalTo("recv"));
            assertThat(context, Long.parseLong(sent.get("bytes")), greaterThan(1_000_000L));
            assertThat("bytes received" + context, received.get("bytes"), equalTo(sent.get("bytes")));
            assertThat("md5 of what was received" + context, received.get("md5"), equalTo(sent.get("md5")));

            // every frame accounted for: a guest's tx is serve's rx on its port; serve's rx on one
            // port is its tx on the other (= the other guest's rx) plus what it dropped
            long[] p0 = ServeProcess.finalCounts(served, 0, 1)[0];
            long[] p1 = ServeProcess.finalCounts(served, 1, 1)[0];
            assertThat("guest a tx = serve port0 rx" + context, p0[0], equalTo(Long.parseLong(ga.get("tx_packets"))));
            assertThat("guest a tx bytes" + context, p0[1], equalTo(Long.parseLong(ga.get("tx_bytes"))));
            assertThat("guest b tx = serve port1 rx" + context, p1[0], equalTo(Long.parseLong(gb.get("tx_packets"))));
            assertThat("guest b tx bytes" + context, p1[1], equalTo(Long.parseLong(gb.get("tx_bytes"))));
            assertThat("guest b rx = serve port1 tx" + context, p1[2], equalTo(Long.parseLong(gb.get("rx_packets"))));
            assertThat("guest b rx bytes" + context, p1[3], equalTo(Long.parseLong(gb.get("rx_bytes"))));
            assertThat("guest a rx = serve port0 tx" + context, p0[2], equalTo(Long.parseLong(ga.get("rx_packets"))));
            assertThat("guest a rx bytes" + context, p0[3], equalTo(Long.parseLong(ga.get("rx_bytes"))));
            assertThat("a -> b: serve rx = tx + dropped" + context, p0[0], equalTo(p1[2] + p0[4]));
            assertThat("b -> a: serve rx = tx + dropped" + context, p1[0], equalTo(p0[2] + p1[4]));
            assertThat(context, ga.get("rx_dropped"), equalTo("0"));
            assertThat(context, gb.get("rx_dropped"), equalTo("0"));
            System.out.printf(Locale.ROOT, "TwoGuestsTest iommu=%s: a tx %s rx %s, b tx %s rx %s; serve p0 rx %d tx %d dropped %d,"
                    + " p1 rx %d tx %d dropped %d; bulk %s bytes md5 %s; guests %.1f s, total %.1f s%n", iommu,
                    ga.get("tx_packets"), ga.get("rx_packets"), gb.get("tx_packets"), gb.get("rx_packets"),
                    p0[0], p0[2], p0[4], p1[0], p1[2], p1[4], sent.get("bytes"), sent.get("md5"),
                    (t2 - t1) / 1e9, (System.nanoTime() - t0) / 1e9);
        } finally {
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
            if (serve != null) {
                serve.close();
            }
            QemuGuest.deleteTree(dir);
            QemuGuest.assertNoneLeft();
        }
    }
}
