package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link QemuGuest#kernelFailure}, with which MigrationTest gives up early on a destination guest
 * whose kernel broke and names the failure, on real consoles: the one CI failed on (guest-consoles/ci-timerqueue-warning.log, the
 * destination's console tail from the .ci/run of 2026-12-07) and a clean boot-and-ping run of the
 * same guest image (guest-consoles/clean-run.log, CRLF line ends as the serial port writes them).
 */
class KernelFailureTest {
    static String resource(String name) throws IOException {
        try (InputStream in = KernelFailureTest.class.getResourceAsStream("/guest-consoles/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void theConsoleCiFailedOnShowsItsWarningLine() throws IOException {
        assertThat(QemuGuest.kernelFailure(resource("ci-timerqueue-warning.log")),
                equalTo("[    7.763742] WARNING: CPU: 0 PID: 0 at lib/timerqueue.c:55 timerqueue_del+0x3e/0x50"));
    }

    @Test
    void aCleanRunShowsNone() throws IOException {
        String clean = resource("clean-run.log");
        assertThat(clean.contains("JVHOST-GUEST iface=eth0"), equalTo(true)); // it did run to its counters
        assertThat(QemuGuest.kernelFailure(clean), nullValue());
    }

    @Test
    void theOtherFailuresAGuestPrints() {
        String boot = "[    2.590361] Run /init as init process\r\nJVHOST-GUEST ready operstate=up\r\n";
        String[] lines = {
            "[   12.101010] virtio_net virtio0: output.0:id 0 is not a head!",
            "[   44.000001] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:0]",
            "[   40.000002] rcu: INFO: rcu_preempt self-detected stall on CPU",
            "[    9.000003] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI",
            "[    9.000004] kernel BUG at mm/slub.c:379!",
        };
        for (String line : lines) {
            assertThat(line, QemuGuest.kernelFailure(boot + line + "\r\n[    9.1] more\r\n"), equalTo(line));
        }
    }
}
