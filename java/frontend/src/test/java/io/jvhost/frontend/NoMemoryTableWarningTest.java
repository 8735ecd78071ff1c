package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;

import io.jvhost.testing.CapturingHandler;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A frontend that negotiates features and leaves without a memory table (what a hugepage
 * virtio-user does when its memory has more than 8 regions) is named by jvhost's backend; one that
 * leaves before negotiating (a probe) is not.
 */
class NoMemoryTableWarningTest {
    private static List<LogRecord> warnings(CapturingHandler h) {
        return h.records().stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
                .filter(r -> r.getMessage().contains("memory table")).toList();
    }

    /** Waits for DPDK's vhost-events thread to see the connection close. */
    private static List<LogRecord> awaitWarnings(CapturingHandler h, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (warnings(h).size() < expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Thread.sleep(200); // and no more than expected
        return warnings(h);
    }

    @Test
    void aFrontendThatNegotiatedAndLeftWithoutMemoryIsNamed(@TempDir Path dir) throws Exception {
        SharedEal.get();
        Path sock = dir.resolve("s");
        try (CapturingHandler h = CapturingHandler.install("io.jvhost.vhost");
                VhostUserPort port = VhostUserPort.builder(sock).open()) {
            try (VhostUserConnection c = VhostUserConnection.connect(sock, Duration.ofSeconds(5))) {
                c.setOwner();
                c.getFeatures();
            }
            assertThat("left before negotiating: nothing to say", awaitWarnings(h, 0), empty());
            try (VhostUserConnection c = VhostUserConnection.connect(sock, Duration.ofSeconds(5))) {
                c.setOwner();
                c.setFeatures(c.getFeatures());
            }
            List<LogRecord> got = awaitWarnings(h, 1);
            assertThat(got, hasSize(1));
            assertThat(got.get(0).getMessage(), containsString("frontend on " + sock
                    + " left without sending its memory table"));
            assertThat(got.get(0).getMessage(), containsString("--single-file-segments"));
        }
    }
}
