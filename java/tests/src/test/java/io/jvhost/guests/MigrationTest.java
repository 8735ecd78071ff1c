package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.fail;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.testing.CapturingHandler;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostListener;
import io.jvhost.vhost.VhostUserPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Live migration of a running guest between two QEMUs, each with its vhost-user netdev on a jvhost
 * port: the source's on port 0, the destination's ({@code -incoming}) on port 1, both served in
 * loopback by one {@link PortServer} in this JVM. The guest pings (20 a second) through the whole
 * migration; QEMU's HMP monitor runs {@code migrate -d} and {@code info migrate}. Shown: the
 * migration completes; the destination (started with {@code -S}, paused when it has loaded
 * everything) holds the same memory as the paused source, page for page, so that nothing the guest
 * or jvhost wrote was lost (jvhost's writes reach the destination through the dirty log); resumed,
 * the guest keeps running there and its traffic goes on through port 1, every frame is accounted
 * for (port 0 + port 1 = the guest's counters), and {@link VhostDevice#isLogging()} is true on the
 * source while QEMU migrates (VHOST_F_LOG_ALL, also reported through
 * {@link VhostListener#featuresChanged}). See docs/guests.md.
 */
class MigrationTest {
    /**
     * Pings at 20 a second: 25 s of guest time, 2 s before the migration, which took 1.4-8.4 s
     * here, and the rest after it.
     */
    static final int PINGS = 500;
    static final long GUEST_SECONDS = 300;
    static final Pattern STATUS = Pattern.compile("Migration status: (\\S+)");
    static final Pattern TOTAL = Pattern.compile("total time: (\\d+) ms");
    static final Pattern DOWNTIME = Pattern.compile("downtime: (\\d+) ms");
    /**
     * DPDK's own reports of a migration it did not follow: the destination's used index differs
     * from the ring state the source handed over (a used ring the dirty log missed), or a log write
     * found no IOTLB entry (a page QEMU would not copy again).
     */
    static final Pattern DPDK_MIGRATION_FAULT = Pattern.compile("mismatches|failed to write log");
    static final Pattern PAUSED = Pattern.compile("(?s)\\s*VM status: paused\\s*");
    /** How long a destination guest whose kernel broke gets to power off anyway (a failure either way). */
    static final long BROKEN_GRACE_SECONDS = 60;

    @BeforeEach
    void needQemuAndGuest() throws Exception {
        QemuGuest.requireImage();
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void migrateWhilePinging() throws Exception {
        run(false);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void migrateWhilePingingWithIommu() throws Exception {
        run(true);
    }

    /** Records a port's devices, and the LOG_ALL changes DPDK reports. */
    static final class Watch implements VhostListener {
        final AtomicReference<VhostDevice> device = new AtomicReference<>();
        final AtomicInteger connected = new AtomicInteger();
        final AtomicInteger logAllOn = new AtomicInteger();
        final AtomicInteger logAllOff = new AtomicInteger();

        @Override
        public void newDevice(VhostDevice d) {
            connected.incrementAndGet();
            device.set(d);
        }

        @Override
        public void featuresChanged(VhostUserPort port, int vid, long features) {
            // DPDK holds the vring locks here: no device views, only note what changed
            (VirtioFeature.LOG_ALL.isIn(features) ? logAllOn : logAllOff).incrementAndGet();
        }
    }

    void run(boolean iommu) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Files.createTempDirectory("jvhost-migrate");
        SharedEal.get();
        Watch src = new Watch();
        Watch dst = new Watch();
        MbufPool pool = MbufPool.create(null, 8192, 256, MbufPool.DEFAULT_DATA_ROOM);
        VhostUserPort srcPort = null;
        VhostUserPort dstPort = null;
        PortServer server = null;
        QemuGuest source = null;
        QemuGuest destination = null;
        HmpMonitor monitor = null;
        HmpMonitor dstMonitor = null;
        CapturingHandler dpdkLog = CapturingHandler.install("dpdk", Level.WARNING);
        try {
            srcPort = VhostUserPort.builder(dir.resolve("src.sock")).iommu(iommu).listener(src).open();
            dstPort = VhostUserPort.builder(dir.resolve("dst.sock")).iommu(iommu).listener(dst).open();
            server = PortServer.start(List.of(srcPort, dstPort), Mode.LOOPBACK, pool, 64, 0)
                    // fresh receive buffers miss in the IOTLB; TCG can take longer than 20 ms to answer
                    .holdNanos(iommu ? 1_000_000_000L : PortServer.DEFAULT_HOLD_NANOS);

            QemuGuest.Config c = QemuGuest.Config.plain("jvhost.count=" + PINGS + " jvhost.interval=0.05 jvhost.settle=2")
                    .withIommu(iommu);
            Path migration = dir.resolve("migration.sock");
            List<String> srcCmd = withMonitor(QemuGuest.command(c, srcPort.socket(), QemuGuest.consoleOf("src", dir)),
                    dir.resolve("src-monitor.sock"));
            List<String> dstCmd = withMonitor(QemuGuest.command(c, dstPort.socket(), QemuGuest.consoleOf("dst", dir)),
                    dir.resolve("dst-monitor.sock"));
            // -S: the destination stays paused once the migration completes (as libvirt starts it),
            // so that its memory can be compared with the paused source's before it runs on
            dstCmd.addAll(List.of("-S", "-incoming", "unix:" + migration));
            destination = QemuGuest.start("dst", dstCmd, dir);
            source = QemuGuest.start("src", srcCmd, dir);
            monitor = HmpMonitor.connect(dir.resolve("src-monitor.sock"), 60);
            dstMonitor = HmpMonitor.connect(dir.resolve("dst-monitor.sock"), 60);
            if (!source.awaitConsole("JVHOST-GUEST ready", GUEST_SECONDS)) {
                fail("the source guest never got its link up" + source.diagnostics() + destination.diagnostics());
            }
            VhostDevice srcDevice = src.device.get();
            assertThat("source device before migrating", srcDevice.isLogging(), equalTo(false));
            Thread.sleep(2000); // traffic on the source first

            long m0 = System.nanoTime();
            monitor.command("migrate -d unix:" + migration, 30);
            boolean sawLogging = false;
            String info = "";
            String status = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                sawLogging |= srcDevice.isAlive() && srcDevice.isLogging();
                info = monitor.command("info migrate", 30);
                Matcher m = STATUS.matcher(info);
                status = m.find() ? m.group(1) : "?";
                if (!status.equals("active") && !status.equals("setup") && !status.equals("device")
                        && !status.equals("pre-switchover") && !status.equals("?")) {
                    break;
                }
                Thread.sleep(100);
            }
            long m1 = System.nanoTime();
            String context = "iommu=" + iommu + "\n--- info migrate ---\n" + info + source.diagnostics()
                    + destination.diagnostics();
            assertThat("migration status" + context, status, equalTo("completed"));
            String dstStatus = awaitIncomingDone(dstMonitor, destination, context, dpdkLog);
            assertThat("destination paused (-S) after the migration" + context, dstStatus, matchesPattern(PAUSED));

            // every page the source's guest (and jvhost, through the dirty log) wrote made it across
            assertSameMemory(monitor, dstMonitor, dir, context + dpdkSection(dpdkLog));
            dstMonitor.command("cont", 30);
            assertThat("destination runs the guest" + context, dstMonitor.command("info status", 30),
                    containsString("VM status: running"));
            monitor.quit(); // the source is paused for good ("postmigrate")
            source.process.waitFor(30, TimeUnit.SECONDS);

            // the guest runs on: it finishes its pings on the destination and powers off there
            boolean poweredOff = awaitPowerOff(destination);
            List<String> faults = dpdkFaults(dpdkLog);
            context += dpdkSection(dpdkLog);
            if (!poweredOff) {
                String broke = QemuGuest.kernelFailure(destination.console());
                fail("the migrated guest did not power off (within " + GUEST_SECONDS + " s, or " + BROKEN_GRACE_SECONDS
                        + " s after its kernel broke" + (broke != null ? ": \"" + broke + "\"" : "") + ")" + context
                        + "\n--- now ---" + destination.diagnostics());
            }
            assertThat("DPDK reported no migration fault" + context, faults, empty());
            assertThat("destination qemu exit status" + context, destination.process.exitValue(), equalTo(0));
            Map<String, String> guest = destination.counters(context);
            server.close();
            QueueCounters s = server.counters(0, 0);
            QueueCounters d = server.counters(1, 0);
            long guestTx = Long.parseLong(guest.get("tx_packets"));
            long guestRx = Long.parseLong(guest.get("rx_packets"));
            String counts = String.format(Locale.ROOT, "%nguest %s%nsource rx %d tx %d dropped %d; destination rx %d tx %d dropped %d;"
                    + " LOG_ALL on %d off %d (source), on %d (destination)",
                    guest, s.rxPackets(), s.txPackets(), s.dropped(), d.rxPackets(), d.txPackets(), d.dropped(),
                    src.logAllOn.get(), src.logAllOff.get(), dst.logAllOn.get());
            context += counts;

            // logging was on for the source while QEMU migrated, and only there
            assertThat("source isLogging() seen true during the migration" + context, sawLogging, equalTo(true));
            assertThat("featuresChanged with LOG_ALL on the source" + context, src.logAllOn.get(), greaterThan(0));
            assertThat("LOG_ALL on the destination" + context, dst.logAllOn.get(), equalTo(0));
            assertThat(context, dst.connected.get(), equalTo(1));
            assertThat(context, guest.get("features").charAt(QemuGuest.F_ACCESS_PLATFORM) == '1', equalTo(iommu));

            // traffic on both sides of the migration, every frame accounted for
            assertThat("frames through the source" + context, s.rxPackets(), greaterThan(0L));
            assertThat("frames through the destination" + context, d.rxPackets(), greaterThan(0L));
            assertThat("looped back on the destination" + context, d.txPackets(), greaterThan(0L));
            assertThat("guest tx = source rx + destination rx" + context, s.rxPackets() + d.rxPackets(), equalTo(guestTx));
            assertThat("guest tx bytes" + context, s.rxBytes() + d.rxBytes(), equalTo(Long.parseLong(guest.get("tx_bytes"))));
            assertThat("guest rx = source tx + destination tx" + context, s.txPackets() + d.txPackets(), equalTo(guestRx));
            assertThat("guest rx bytes" + context, s.txBytes() + d.txBytes(), equalTo(Long.parseLong(guest.get("rx_bytes"))));
            assertThat("source rx = tx + dropped" + context, s.rxPackets(), equalTo(s.txPackets() + s.dropped()));
            assertThat("destination rx = tx + dropped" + context, d.rxPackets(), equalTo(d.txPackets() + d.dropped()));
            assertThat("destination dropped" + context, d.dropped(), equalTo(0L));
            assertThat(context, guestTx, greaterThanOrEqualTo((long) PINGS)); // the pings, and any announcement after the move
            Matcher total = TOTAL.matcher(info);
            Matcher down = DOWNTIME.matcher(info);
            System.out.printf(Locale.ROOT, "MigrationTest iommu=%s: completed, QEMU total %s ms, downtime %s ms (polled %.1f s);"
                    + " %s; test %.1f s%n", iommu, total.find() ? total.group(1) : "?", down.find() ? down.group(1) : "?",
                    (m1 - m0) / 1e9, counts.strip().replace('\n', ';'), (System.nanoTime() - t0) / 1e9);
        } finally {
            dpdkLog.close();
            for (AutoCloseable a : new AutoCloseable[] {monitor, dstMonitor, source, destination, server, srcPort, dstPort}) {
                if (a != null) {
                    a.close();
                }
            }
            if (pool.inUse() == 0) {
                pool.close();
            }
            QemuGuest.deleteTree(dir);
            QemuGuest.assertNoneLeft();
        }
    }

    /**
     * Waits for the destination guest to power off: at most {@link #GUEST_SECONDS}, and at most
     * {@link #BROKEN_GRACE_SECONDS} once its kernel shows it broke.
     *
     * @return whether QEMU exited
     */
    static boolean awaitPowerOff(QemuGuest guest) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUEST_SECONDS);
        long brokeAt = 0;
        while (!guest.process.waitFor(1, TimeUnit.SECONDS)) {
            long now = System.nanoTime();
            if (brokeAt == 0 && QemuGuest.kernelFailure(guest.console()) != null) {
                brokeAt = now;
            }
            if (now > deadline || (brokeAt != 0 && now - brokeAt > TimeUnit.SECONDS.toNanos(BROKEN_GRACE_SECONDS))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Waits for the destination to finish loading what the source sent (it is paused, not
     * "paused (inmigrate)", then).
     *
     * @return its {@code info status}
     */
    static String awaitIncomingDone(HmpMonitor dst, QemuGuest destination, String context, CapturingHandler dpdkLog)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String status = "";
        try {
            while (System.nanoTime() < deadline) {
                status = dst.command("info status", 30);
                if (!status.contains("inmigrate")) {
                    break;
                }
                Thread.sleep(100);
            }
            return status;
        } catch (IOException e) {
            // its QEMU went away (a failed load exits): say how, with its last words
            destination.process.waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError("the destination's monitor failed (" + e.getMessage() + ")" + context
                    + dpdkSection(dpdkLog) + "\n--- now ---" + destination.diagnostics(), e);
        }
    }

    /**
     * Dumps both guests' memory (both are paused) and fails, naming each page that differs with
     * both sides' bytes, unless it is the same; deletes the dumps.
     */
    static void assertSameMemory(HmpMonitor src, HmpMonitor dst, Path dir, String context) throws Exception {
        Path a = dir.resolve("src.mem");
        Path b = dir.resolve("dst.mem");
        try {
            // quoted: HMP would read an unquoted path's '/' as a division
            src.command("pmemsave 0 " + QemuGuest.MEMORY_BYTES + " \"" + a + "\"", 60);
            dst.command("pmemsave 0 " + QemuGuest.MEMORY_BYTES + " \"" + b + "\"", 60);
            assertThat("source memory dump", Files.size(a), equalTo(QemuGuest.MEMORY_BYTES));
            List<MemoryDiff.Page> diff = MemoryDiff.pages(a, b, 0);
            if (!diff.isEmpty()) {
                fail(diff.size() + " pages of the destination's memory differ from the paused source's: stores the"
                        + " migration did not carry over; the first: " + diff.subList(0, Math.min(20, diff.size()))
                        + "\n--- their bytes (source, then destination) ---" + MemoryDiff.excerpts(a, b, 0, diff, 20)
                        + context);
            }
        } finally {
            Files.deleteIfExists(a);
            Files.deleteIfExists(b);
        }
    }

    static List<String> messages(CapturingHandler log) {
        List<String> r = new ArrayList<>();
        for (LogRecord record : log.records()) {
            r.add(record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage());
        }
        return r;
    }

    /** DPDK's collected lines, as a section of a failure message. */
    static String dpdkSection(CapturingHandler log) {
        return "\n--- DPDK warnings and errors ---\n" + String.join("\n", messages(log));
    }

    static List<String> dpdkFaults(CapturingHandler log) {
        List<String> r = new ArrayList<>();
        for (String m : messages(log)) {
            if (DPDK_MIGRATION_FAULT.matcher(m).find()) {
                r.add(m);
            }
        }
        return r;
    }

    static List<String> withMonitor(List<String> cmd, Path socket) {
        List<String> r = new ArrayList<>(cmd);
        int at = r.indexOf("-monitor");
        r.set(at + 1, "unix:" + socket + ",server=on,wait=off");
        return r;
    }
}
