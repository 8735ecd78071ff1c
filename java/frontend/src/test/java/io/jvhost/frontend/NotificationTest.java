package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jvhost.testing.NetVhostTestpmd;

/**
 * Real kick and call descriptors instead of VHOST_USER_VRING_NOFD_MASK: the backend gets a
 * descriptor per vring and signals the receive rings' call descriptors, which
 * {@link VirtioNetFrontend#awaitReceive} sleeps on.
 */
class NotificationTest {
    @TempDir
    Path dir;

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void receiveWaitsOnTheBackendsCallDescriptor() throws Exception {
        try (NetVhostTestpmd t = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().queues(2).iommu(true));
                VirtioNetFrontend dev = VirtioNetFrontend.builder(t.socket()).queuePairs(2).iommu(IommuMode.QEMU)
                        .notifications(true).open()) {
            assertThat(dev.notifications(), is(true));
            // the backend was given descriptors, not the NOFD flag
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (count(t.output(), "vring call idx:") < 4 && System.nanoTime() < deadline) {
                Thread.sleep(5); // testpmd's log reaches us through a pipe, a little later
            }
            Matcher m = Pattern.compile("vring call idx:(\\d) file:(-?\\d+)").matcher(t.output());
            int seen = 0;
            while (m.find()) {
                assertThat("call fd of vring " + m.group(1), Integer.parseInt(m.group(2)), greaterThan(2));
                seen++;
            }
            assertThat(seen, is(4));
            assertThat(t.output(), not(containsString("vring kick idx:0 file:-1")));
            assertThat(t.output(), containsString("vring kick idx:3 file:"));

            byte[] buf = new byte[dev.maxFrameSize()];
            for (int q = 0; q < 2; q++) {
                // nothing sent: the wait times out
                long t0 = System.nanoTime();
                assertThat(dev.awaitReceive(q, Duration.ofMillis(200)), is(false));
                assertThat(System.nanoTime() - t0, greaterThan(150_000_000L));
                for (int i = 0; i < 30; i++) {
                    byte[] f = Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length]);
                    assertThat(dev.send(q, f, 0, f.length), is(true));
                    boolean ok = dev.awaitReceive(q, Duration.ofSeconds(5));
                    if (!ok) {
                        System.out.println("inflight " + dev.txInFlight(q) + " stats " + t.portStats());
                        dev.iommu().log().events().forEach(System.out::println);
                        for (int v = 0; v < 4; v++) {
                            System.out.println(dev.layout(v));
                        }
                        System.out.println(t.command("show port xstats 0"));
                        String out = t.output();
                        System.out.println(out.substring(Math.max(0, out.length() - 4000)));
                    }
                    assertThat("frame " + i + " on queue " + q, ok, is(true));
                    int n = dev.receive(q, buf);
                    assertThat(n, is(f.length));
                    assertThat(java.util.Arrays.copyOf(buf, n), is(f));
                }
                assertThat("woken by the call descriptor of vring " + 2 * q, dev.callsSeen(2 * q), greaterThan(0L));
                assertThat(dev.callsSeen(2 * q), lessThanOrEqualTo(30L));
            }
        }
    }
}
