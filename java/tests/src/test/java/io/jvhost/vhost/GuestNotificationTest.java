package io.jvhost.vhost;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.frontend.VirtioNetFrontend;
import io.jvhost.frontend.VringLayout;
import io.jvhost.testing.SharedEal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest notifications as the frontend sees them: the VRING_USED_F_NO_NOTIFY bit DPDK writes in
 * each used ring, read from the Java frontend's guest memory.
 */
class GuestNotificationTest {
    private static final int NO_NOTIFY = 1;

    @TempDir
    static Path dir;

    @BeforeAll
    static void eal() {
        SharedEal.get();
    }

    private static int usedFlags(VirtioNetFrontend front, int vring) {
        VringLayout l = front.layout(vring);
        byte[] b = new byte[2];
        front.memory().read(l.usedGpa(), b, 0, 2);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
    }

    @Test
    void offByDefaultOnEveryVringAndSwitchablePerVring() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("off.sock")).open();
                VirtioNetFrontend front = VirtioNetFrontend.builder(port.socket()).open()) {
            VhostDevice d = port.awaitDevice(Duration.ofSeconds(10));
            for (int v = 0; v < d.vringCount(); v++) {
                assertThat("vring " + v, usedFlags(front, v) & NO_NOTIFY, equalTo(NO_NOTIFY));
            }
            d.guestNotifications(1, true);
            assertThat(usedFlags(front, 1) & NO_NOTIFY, equalTo(0));
            assertThat("other vrings keep theirs", usedFlags(front, 0) & NO_NOTIFY, equalTo(NO_NOTIFY));
            d.guestNotifications(1, false);
            assertThat(usedFlags(front, 1) & NO_NOTIFY, equalTo(NO_NOTIFY));
            assertThrows(IllegalArgumentException.class, () -> d.guestNotifications(d.vringCount(), true));
        }
    }

    @Test
    void onWhenThePortAsks() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("on.sock")).guestNotifications(true).open();
                VirtioNetFrontend front = VirtioNetFrontend.builder(port.socket()).open()) {
            VhostDevice d = port.awaitDevice(Duration.ofSeconds(10));
            for (int v = 0; v < d.vringCount(); v++) {
                assertThat("vring " + v, usedFlags(front, v) & NO_NOTIFY, equalTo(0));
            }
        }
    }
}
