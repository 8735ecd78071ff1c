package io.jvhost.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.jvhost.testing.TestPmd;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code serve --stats-format json --metrics-port 0} with testpmd's virtio-user sending (txonly)
 * into sink mode: the JSON lines parse (with Gson), stdout carries nothing else, and the Prometheus
 * endpoint scraped during and after the traffic agrees with testpmd's own counts.
 */
class ServeMetricsIT {
    /** testpmd's txonly burst: it counts a burst after handing it to the ring, so the server may be one burst ahead. */
    private static final long BURST = 32;

    @Test
    void jsonLinesAndPrometheusScrapesAgreeWithTestpmd() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-metrics");
        Path sock = dir.resolve("vhost0.sock");
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                System.getProperty("jvhost.jar"), "serve", "--socket", sock.toString(), "--mode", "sink",
                "--stats-format", "json", "--stats-period", "0.5", "--metrics-port", "0");
        Process serve = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            String uri = await(err, Pattern.compile("metrics at (http://\\S+)"), serve);
            assertThat(uri, uri.startsWith("http://127.0.0.1:"), equalTo(true));
            String label = "{port=\"" + sock + "\",queue=\"0\"}";
            long sent;
            try (TestPmd tp = TestPmd.start("net_virtio_user0,path=" + sock, "--forward-mode=txonly")) {
                await(err, Pattern.compile("port0: frontend connected"), serve);
                tp.command("start");
                int scrapes = 0;
                long last = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() < deadline) {
                    Map<String, Long> m = scrape(URI.create(uri));
                    long txNow = TestPmd.counter(tp.command("show port stats 0"), "TX-packets");
                    long rx = m.get("jvhost_rx_packets_total" + label);
                    assertThat("never ahead of what testpmd sent", rx, lessThanOrEqualTo(txNow + BURST));
                    assertThat(rx, greaterThanOrEqualTo(last));
                    assertThat(m.get("jvhost_port_connected{port=\"" + sock + "\"}"), equalTo(1L));
                    last = rx;
                    scrapes++;
                    Thread.sleep(200);
                }
                assertThat(scrapes, greaterThan(1));
                assertThat("packets counted during traffic", last, greaterThan(0L));
                sent = TestPmd.counter(tp.command("stop"), "TX-packets");
                // sink frees everything it dequeues: once testpmd stopped, the counts settle at what it sent
                long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                Map<String, Long> m = scrape(URI.create(uri));
                while (m.get("jvhost_rx_packets_total" + label) < sent && System.nanoTime() < settle) {
                    Thread.sleep(50);
                    m = scrape(URI.create(uri));
                }
                assertThat(m.get("jvhost_rx_packets_total" + label), equalTo(sent));
                assertThat(m.get("jvhost_dropped_packets_total" + label), equalTo(0L));
                assertThat(m.get("jvhost_rx_bytes_total" + label), equalTo(sent * 64)); // txonly's default 64-byte frames
                Thread.sleep(1200); // at least two more JSON lines with the final counts
            }
            await(err, Pattern.compile("port0: frontend gone"), serve);
            new ProcessBuilder("kill", "-TERM", Long.toString(serve.pid())).inheritIO().start().waitFor();
            assertThat(serve.waitFor(30, TimeUnit.SECONDS), equalTo(true));
            assertThat(Files.readString(err), serve.exitValue(), equalTo(0));

            List<JsonObject> lines = new ArrayList<>();
            for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
                lines.add(JsonParser.parseString(line).getAsJsonObject()); // stdout: JSON lines only
            }
            assertThat(lines.size(), greaterThan(4));
            Instant previous = Instant.EPOCH;
            long lastRx = 0;
            for (int i = 0; i < lines.size(); i++) {
                JsonObject o = lines.get(i);
                Instant t = Instant.parse(o.get("time").getAsString()); // ISO-8601
                assertThat(t.isAfter(previous), equalTo(true));
                previous = t;
                JsonObject port = o.getAsJsonArray("ports").get(0).getAsJsonObject();
                assertThat(port.get("socket").getAsString(), equalTo(sock.toString()));
                JsonObject q = port.getAsJsonArray("queues").get(0).getAsJsonObject();
                long rx = q.get("rx_packets").getAsLong();
                assertThat(rx, greaterThanOrEqualTo(lastRx));
                assertThat(q.get("rx_bytes").getAsLong(), equalTo(rx * 64));
                assertThat(q.get("rx_pps").getAsDouble(), greaterThanOrEqualTo(0.0));
                assertThat(o.has("final"), equalTo(i == lines.size() - 1));
                lastRx = rx;
            }
            assertThat("the last line has testpmd's count", lastRx, equalTo(sent));
            boolean someRate = lines.stream().anyMatch(o -> o.getAsJsonArray("ports").get(0).getAsJsonObject()
                    .getAsJsonArray("queues").get(0).getAsJsonObject().get("rx_pps").getAsDouble() > 0);
            assertThat("a line during traffic shows a rate", someRate, equalTo(true));
        } finally {
            serve.destroyForcibly();
            serve.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void readmeMetricsBlockRunsAndPrintsWhatItSays() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("jvhost.basedir"), "README.md"));
        int section = readme.indexOf("### Metrics\n");
        assertThat("README has a Metrics section", section, greaterThanOrEqualTo(0));
        int begin = readme.indexOf("```sh\n", section) + 6;
        String block = readme.substring(begin, readme.indexOf("```", begin));
        Path dir = Files.createTempDirectory("jvhost-readme-metrics");
        String sock = dir.resolve("vhost0.sock").toString();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = block.replace("scripts/jvhost", java + " -jar " + System.getProperty("jvhost.jar"))
                .replace("/tmp/vhost0.sock", sock).replace("9464", Integer.toString(port));
        Process bash = new ProcessBuilder("bash", "-c", script).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            assertThat(bash.waitFor(120, TimeUnit.SECONDS), equalTo(true));
            String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(output, bash.exitValue(), equalTo(0));
            // what the README's comment says the scrape prints
            Matcher said = Pattern.compile("grep '\\^jvhost_rx_packets_total' +# (.*)").matcher(block);
            assertThat(block, said.find(), equalTo(true));
            assertThat(output, output.contains(said.group(1).replace("/tmp/vhost0.sock", sock) + "\n"), equalTo(true));
            List<String> lines = Files.readAllLines(dir.resolve("stats.jsonl"), StandardCharsets.UTF_8);
            JsonObject last = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
            assertThat(last.get("final").getAsBoolean(), equalTo(true));
            assertThat(output, output.contains(lines.get(lines.size() - 1)), equalTo(true)); // tail printed it
            assertThat(last.getAsJsonArray("ports").get(0).getAsJsonObject().get("socket").getAsString(), equalTo(sock));
        } finally {
            bash.destroyForcibly();
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void badMetricsOptionsGiveOneLineAndANonZeroExit() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-metrics-bad");
        String sock = dir.resolve("s").toString();
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String[][] cases = {
                {"--stats-format", "xml"},
                {"--metrics-port", "70000"},
                {"--metrics-port", "-1"},
                {"--metrics-port", "0", "--metrics-address", "no.such.host.invalid"},
                {"--metrics-port", Integer.toString(taken.getLocalPort())},
            };
            String[] expected = {
                "jvhost: unknown --stats-format 'xml': use text or json",
                "jvhost: --metrics-port must be 0..65535: 70000",
                "jvhost: --metrics-port must be 0..65535: -1",
                "jvhost: --metrics-address: unknown host 'no.such.host.invalid'",
                "jvhost: cannot serve metrics on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use",
            };
            for (int i = 0; i < cases.length; i++) {
                List<String> args = new ArrayList<>(List.of("serve", "--socket", sock));
                args.addAll(List.of(cases[i]));
                CliIT.Run r = new CliIT.Run(args.toArray(String[]::new));
                assertThat(r.output, r.output.contains(expected[i]), equalTo(true));
                assertThat(r.output, r.exit, equalTo(i == 4 ? 1 : 2)); // a port in use is the machine's, not usage
                assertThat(r.output, r.output.contains("Exception"), equalTo(false));
            }
        } finally {
            Files.deleteIfExists(dir.resolve("s"));
            Files.deleteIfExists(dir);
        }
    }

    private static String await(Path file, Pattern p, Process process) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            Matcher m = p.matcher(Files.readString(file));
            if (m.find()) {
                return m.groupCount() > 0 ? m.group(1) : m.group();
            }
            if (System.currentTimeMillis() > deadline || !process.isAlive()) {
                throw new AssertionError("no '" + p + "' in:\n" + Files.readString(file));
            }
            Thread.sleep(50);
        }
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{.*\\})? (-?[0-9]+)");

    private static Map<String, Long> scrape(URI uri) throws Exception {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        assertThat(c.getResponseCode(), equalTo(200));
        assertThat(c.getContentType(), equalTo("text/plain; version=0.0.4; charset=utf-8"));
        String body;
        try (InputStream in = c.getInputStream()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Long> samples = new HashMap<>();
        for (String line : body.split("\n")) {
            if (!line.startsWith("#")) {
                Matcher m = SAMPLE.matcher(line);
                assertThat("a sample line: " + line, m.matches(), equalTo(true));
                samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Long.parseLong(m.group(3)));
            }
        }
        return samples;
    }
}
