package io.jvhost.docs;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import io.jvhost.frontend.VirtioNetFrontend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's network function, compiled as it stands and run in its own JVM (EAL starts once per
 * process) against the pure-Java frontend: IPv4 frames come back with their Ethernet addresses
 * swapped, the TTL one lower and a header checksum that still verifies; frames that are not IPv4
 * or whose TTL ran out do not come back; the Prometheus scrape counts exactly what was sent.
 */
class NetworkFunctionExampleTest {
    private static final String MARKER = "<!-- network-function-example";
    private static final int GOOD = 300;
    private static final int NOT_IPV4 = 40;
    private static final int EXPIRED = 30;

    @TempDir
    Path dir;

    private static String exampleBlock() throws IOException {
        Path readme = Path.of(System.getProperty("jvhost.basedir", "."), "README.md");
        String text = Files.readString(readme);
        int at = text.indexOf(MARKER);
        assertThat("README marks its network-function example", at >= 0, equalTo(true));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(text);
        assertThat(m.find(at), equalTo(true));
        return m.group(1);
    }

    /** An IPv4 frame with a valid header checksum; the payload numbers the frame. */
    private static byte[] ipv4(int seq, int ttl, int length) {
        byte[] f = new byte[length];
        byte[] dst = {0x02, 0, 0, 0, 0, 0x01};
        byte[] src = {0x02, 0, 0, 0, 0, 0x02};
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = (byte) ((length - 14) >> 8);
        f[17] = (byte) (length - 14);
        f[22] = (byte) ttl;
        f[23] = 17; // UDP
        f[26] = 10;
        f[29] = 1;
        f[30] = 10;
        f[33] = 2;
        int sum = checksumOfHeader(f);
        f[24] = (byte) (~sum >> 8);
        f[25] = (byte) ~sum;
        for (int i = 34; i < length; i++) {
            f[i] = (byte) (seq + i);
        }
        f[34] = (byte) (seq >> 8);
        f[35] = (byte) seq;
        return f;
    }

    /** The ones' complement sum of the 20-byte IPv4 header, checksum field included. */
    private static int checksumOfHeader(byte[] f) {
        int sum = 0;
        for (int i = 14; i < 34; i += 2) {
            sum += (f[i] & 0xff) << 8 | (f[i + 1] & 0xff);
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return sum;
    }

    @Test
    void theReadmeNetworkFunctionReflectsIpv4AndDropsTheRest() throws Exception {
        Files.writeString(dir.resolve("NetworkFunction.java"), ReadmeExampleTest.source("NetworkFunction", exampleBlock()));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
                dir.resolve("NetworkFunction.java").toString());
        assertThat(err.toString(StandardCharsets.UTF_8), rc, equalTo(0));

        Path socket = dir.resolve("nf.sock");
        Path log = dir.resolve("nf.log");
        Process nf = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", dir + java.io.File.pathSeparator + System.getProperty("java.class.path"), "NetworkFunction",
                socket.toString(), "60").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            String url = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (url == null && System.nanoTime() < deadline && nf.isAlive()) {
                Matcher m = Pattern.compile("metrics at (http://\\S+)").matcher(Files.readString(log));
                url = m.find() ? m.group(1) : null;
                Thread.sleep(100);
            }
            assertThat("the example started: " + Files.readString(log), url, notNullValue());

            // 370 frames in 10 rounds of 37: in each, 4 not IPv4 and 3 with TTL 1 among 30 good ones
            List<byte[]> frames = new ArrayList<>();
            int notIpv4 = 0;
            int expired = 0;
            for (int i = 0; i < GOOD + NOT_IPV4 + EXPIRED; i++) {
                int k = i % 37;
                byte[] f = ipv4(i, k >= 20 && k < 23 ? 1 : 64, 60 + (i * 7) % 1400);
                if (k >= 5 && k < 9) {
                    f[12] = (byte) 0x86; // IPv6's ethertype: not IPv4
                    f[13] = (byte) 0xdd;
                    notIpv4++;
                } else if (k >= 20 && k < 23) {
                    expired++;
                }
                frames.add(f);
            }
            assertThat("the test's own mix", List.of(notIpv4, expired), equalTo(List.of(NOT_IPV4, EXPIRED)));
            List<byte[]> back = new ArrayList<>();
            try (VirtioNetFrontend guest = VirtioNetFrontend.builder(socket).open()) {
                byte[] buf = new byte[2048];
                for (byte[] frame : frames) {
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (!guest.send(0, frame, 0, frame.length)) {
                        assertThat("the ring took the frame", System.nanoTime() < until, equalTo(true));
                        drain(guest, buf, back);
                    }
                    drain(guest, buf, back);
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < until && back.size() < GOOD) {
                    drain(guest, buf, back);
                }
                Thread.sleep(200);
                drain(guest, buf, back);
            }
            assertThat("every good frame came back, and only those", back.size(), equalTo(GOOD));
            for (byte[] f : back) {
                int seq = (f[34] & 0xff) << 8 | (f[35] & 0xff);
                byte[] want = ipv4(seq, 63, f.length);
                assertThat("checksum of frame " + seq, checksumOfHeader(f), equalTo(0xffff));
                byte[] swapped = want.clone();
                System.arraycopy(want, 6, swapped, 0, 6);
                System.arraycopy(want, 0, swapped, 6, 6);
                swapped[24] = f[24]; // checked above by its sum
                swapped[25] = f[25];
                assertThat("frame " + seq, Arrays.equals(f, swapped), equalTo(true));
            }

            String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(scrape, metric(scrape, "jvhost_rx_packets_total"), equalTo((long) GOOD + NOT_IPV4 + EXPIRED));
            assertThat(scrape, metric(scrape, "jvhost_dropped_packets_total"), equalTo((long) NOT_IPV4 + EXPIRED));
            assertThat(scrape, metric(scrape, "jvhost_tx_packets_total"), equalTo((long) GOOD));
            long txBytes = back.stream().mapToLong(f -> f.length).sum();
            assertThat(scrape, metric(scrape, "jvhost_tx_bytes_total"), equalTo(txBytes));
        } finally {
            nf.destroy();
            if (!nf.waitFor(20, TimeUnit.SECONDS)) {
                nf.destroyForcibly();
            }
        }
    }

    private static void drain(VirtioNetFrontend guest, byte[] buf, List<byte[]> into) {
        int n;
        while ((n = guest.receive(0, buf)) >= 0) {
            into.add(Arrays.copyOf(buf, n));
        }
    }

    private static long metric(String scrape, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*\\} (\\d+)").matcher(scrape);
        assertThat(name + " in the scrape", m.find(), equalTo(true));
        return Long.parseLong(m.group(1));
    }
}
