package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A guest outlives its backend: {@code jvhost serve} (loopback) is stopped while the guest pings and
 * a new serve takes its place on the same socket; the guest's link comes back and its traffic goes
 * on through the new serve. Two ways round: QEMU as the vhost-user client with
 * {@code reconnect=1} and serve listening, and QEMU listening ({@code server=on}) with
 * {@code serve --client}. Counted: every frame either serve looped back reached the guest; frames
 * the guest sent while no backend was there are the only ones missing (reported). See
 * docs/guests.md.
 */
class ReconnectTest {
    /**
     * Pings at 10 a second, 20 s of guest time (which runs slower than the wall clock under TCG): 3 s
     * before the restart, which took 2.6-3.0 s at load 13, and the rest after it.
     */
    static final int PINGS = 200;
    static final long GUEST_SECONDS = 300;

    @BeforeEach
    void needQemuAndGuest() throws Exception {
        QemuGuest.requireImage();
    }

    /** QEMU connects ({@code reconnect=1}); serve listens, and is restarted. */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void qemuReconnectsToRestartedServe() throws Exception {
        run(false, false);
    }

    /** QEMU listens ({@code server=on}); {@code serve --client} connects, and is restarted. */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void restartedServeClientReconnectsToQemu() throws Exception {
        run(true, false);
    }

    /**
     * As {@link #qemuReconnectsToRestartedServe()}, with the vIOMMU: the new serve starts with an
     * empty IOTLB and must get every translation again from QEMU (MISS, UPDATE) for rings and
     * buffers the guest set up long before.
     */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void qemuWithIommuReconnectsToRestartedServe() throws Exception {
        run(false, true);
    }

    void run(boolean serveIsClient, boolean iommu) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Files.createTempDirectory("jvhost-reconnect");
        Path socket = dir.resolve("vhost.sock");
        List<String> args = new ArrayList<>(List.of("serve", "--socket", socket.toString(), "--mode", "loopback",
                "--stats-period", "0"));
        if (serveIsClient) {
            args.add("--client");
        }
        if (iommu) {
            // under TCG an UPDATE can take longer than the default hold (docs/guests.md)
            args.addAll(List.of("--iommu", "--hold-ms", "1000"));
        }
        ServeProcess first = null;
        ServeProcess second = null;
        QemuGuest vm = null;
        try {
            QemuGuest.Config c = QemuGuest.Config.plain("jvhost.count=" + PINGS + " jvhost.interval=0.1 jvhost.settle=2")
                    .withIommu(iommu);
            List<String> cmd = new ArrayList<>(QemuGuest.command(c, socket, QemuGuest.consoleOf("guest", dir)));
            int chardev = cmd.indexOf("socket,id=c0,path=" + socket);
            // QEMU waits for the backend's connection before it boots the guest when it listens
            cmd.set(chardev, cmd.get(chardev) + (serveIsClient ? ",server=on" : ",reconnect=1"));
            if (serveIsClient) {
                vm = QemuGuest.start("guest", cmd, dir);
                awaitSocket(socket, vm);
                first = ServeProcess.start(args, dir.resolve("serve1.log"));
            } else {
                first = ServeProcess.start(args, dir.resolve("serve1.log"));
                vm = QemuGuest.start("guest", cmd, dir);
            }
            if (!vm.awaitConsole("JVHOST-GUEST ready", GUEST_SECONDS)) {
                fail("the guest never got its link up" + vm.diagnostics() + "\n--- serve 1 ---\n" + first.log());
            }
            Thread.sleep(3000); // traffic through the first serve
            long g0 = System.nanoTime();
            String served1 = first.stop();
            second = ServeProcess.start(args, dir.resolve("serve2.log"));
            second.awaitLog("port0: frontend connected", 60);
            long gap = System.nanoTime() - g0;

            ServeProcess restarted = second;
            vm.awaitExit(GUEST_SECONDS, () -> "\n--- serve 1 ---\n" + QemuGuest.tail(served1, 20) + "\n--- serve 2 ---\n"
                    + QemuGuest.tail(restarted.log(), 20));
            String served2 = second.stop();
            String context = "serve --client: " + serveIsClient + ", iommu: " + iommu + vm.diagnostics() + "\n--- serve 1 ---\n" + served1
                    + "\n--- serve 2 ---\n" + served2;
            assertThat("qemu exit status" + context, vm.process.exitValue(), equalTo(0));
            assertThat(context, served1, containsString("port0: frontend connected"));
            Map<String, String> guest = vm.counters(context);
            long[] s1 = ServeProcess.finalCounts(served1, 0, 1)[0];
            long[] s2 = ServeProcess.finalCounts(served2, 0, 1)[0];
            long guestTx = Long.parseLong(guest.get("tx_packets"));
            long guestRx = Long.parseLong(guest.get("rx_packets"));
            long lost = guestTx - s1[0] - s2[0];
            String counts = String.format(Locale.ROOT, "guest tx %d rx %d; serve 1 rx %d tx %d dropped %d; serve 2 rx %d tx %d"
                    + " dropped %d; sent while no backend was there: %d", guestTx, guestRx, s1[0], s1[2], s1[4], s2[0], s2[2],
                    s2[4], lost);
            context = counts + "\n" + context;

            // traffic on both sides of the restart: the link came back
            assertThat("frames through the first serve" + context, s1[0], greaterThan(0L));
            assertThat("frames through the second serve" + context, s2[0], greaterThan(0L));
            assertThat("looped back by the second serve" + context, s2[2], greaterThan(0L));
            // each serve: what it received it looped back or dropped; the guest got all it looped back
            assertThat(context, s1[0], equalTo(s1[2] + s1[4]));
            assertThat(context, s2[0], equalTo(s2[2] + s2[4]));
            assertThat("guest rx = serve 1 tx + serve 2 tx" + context, guestRx, equalTo(s1[2] + s2[2]));
            assertThat("guest rx bytes" + context, Long.parseLong(guest.get("rx_bytes")), equalTo(s1[3] + s2[3]));
            // the guest sent at least what both received; the rest went out while no backend was
            // there, no more than its transmit ring holds (256): the guest's link went down in the gap
            assertThat(context, lost, greaterThanOrEqualTo(0L));
            assertThat(context, lost, lessThanOrEqualTo(256L));
            System.out.printf(Locale.ROOT, "ReconnectTest serve --client %s iommu %s: %s; restart (SIGTERM to the first serve"
                    + " until the second's device) %.1f s; test %.1f s%n", serveIsClient, iommu, counts, gap / 1e9,
                    (System.nanoTime() - t0) / 1e9);
        } finally {
            if (vm != null) {
                vm.close();
            }
            if (first != null) {
                first.close();
            }
            if (second != null) {
                second.close();
            }
            QemuGuest.deleteTree(dir);
            QemuGuest.assertNoneLeft();
        }
    }

    /** QEMU (server=on) creates its socket before it waits for serve. */
    static void awaitSocket(Path socket, QemuGuest vm) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(socket)) {
            if (System.nanoTime() > deadline || !vm.process.isAlive()) {
                fail("QEMU did not create " + socket + vm.diagnostics());
            }
            Thread.sleep(50);
        }
    }
}
