package io.jvhost.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;

import io.jvhost.testing.TestPmd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The packaged jar, run as a user runs it: {@code java -jar target/jvhost-*.jar ...}. */
class CliIT {
    /** A running jvhost command. */
    static final class Jvhost implements AutoCloseable {
        final Process process;
        final Path log;

        Jvhost(String... args) throws IOException {
            this(List.of(), args);
        }

        Jvhost(List<String> jvmArgs, String... args) throws IOException {
            this(Path.of(System.getProperty("java.home"), "bin", "java"), jvmArgs, args);
        }

        Jvhost(Path java, List<String> jvmArgs, String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(java.toString()));
            cmd.addAll(jvmArgs);
            cmd.addAll(List.of("-jar", System.getProperty("jvhost.jar")));
            cmd.addAll(List.of(args));
            log = Files.createTempFile("jvhost-cli", ".log");
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        }

        String output() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }

        int waitFor(long seconds) throws Exception {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                // what every thread was doing, so that a hang explains itself in the CI log
                String dump = threadDump();
                process.destroyForcibly();
                throw new AssertionError("jvhost did not end in " + seconds + " s:\n" + output() + "\n" + dump);
            }
            return process.exitValue();
        }

        private String threadDump() {
            StringBuilder sb = new StringBuilder("--- jcmd Thread.print ---\n");
            try {
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(process.pid()), "Thread.print").redirectErrorStream(true).start();
                sb.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                p.waitFor(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                sb.append("(no thread dump: ").append(e).append(")\n");
            }
            // kernel stacks and states of the native threads (DPDK's included)
            try (var tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
                for (Path t : tasks.toList()) {
                    sb.append("--- task ").append(t.getFileName()).append(' ')
                            .append(Files.readString(t.resolve("comm")).trim()).append(": ")
                            .append(Files.readString(t.resolve("wchan")).trim()).append('\n');
                }
            } catch (IOException e) {
                sb.append("(no task list: ").append(e).append(")\n");
            }
            return sb.toString();
        }

        void awaitOutput(String text, long millis) throws Exception {
            long deadline = System.currentTimeMillis() + millis;
            while (!output().contains(text)) {
                if (System.currentTimeMillis() > deadline || !process.isAlive()) {
                    throw new AssertionError("no '" + text + "' in:\n" + output());
                }
                Thread.sleep(50);
            }
        }

        void signal(String name) throws Exception {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
        }

        @Override
        public void close() throws IOException {
            process.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }

    static final class Run {
        final int exit;
        final String output;

        Run(String... args) throws Exception {
            this(List.of(), args);
        }

        Run(List<String> jvmArgs, String... args) throws Exception {
            this(Path.of(System.getProperty("java.home"), "bin", "java"), jvmArgs, args);
        }

        Run(Path java, List<String> jvmArgs, String... args) throws Exception {
            try (Jvhost j = new Jvhost(java, jvmArgs, args)) {
                exit = j.waitFor(60);
                output = j.output();
            }
        }
    }

    @Test
    void versionNamesJvhostDpdkAndJava() throws Exception {
        Run r = new Run("--version");
        assertThat(r.output, r.exit, equalTo(0));
        assertThat(r.output, containsString("jvhost 0."));
        assertThat(r.output, containsString("DPDK 22.11"));
        assertThat(r.output, containsString("Java " + System.getProperty("java.version")));
    }

    /**
     * On JDK 25 (this JVM's, or one under /usr/lib/jvm): the jar says Enable-Native-Access and
     * Multi-Release, so demo prints no WARNING line (no JNI restriction, no sun.misc.Unsafe: the
     * core's versions/22 classes are in use) and doctor says so.
     */
    @Test
    void onJdk25NothingIsPrintedToIgnoreAndPacketsGoThroughFfm() throws Exception {
        java.util.Optional<Path> jdk25 = io.jvhost.testing.Jdks.java(25);
        if (System.getenv("CI") != null) {
            assertThat("a JDK 25 under /usr/lib/jvm (CI has Temurin 25)", jdk25.isPresent(), equalTo(true));
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(jdk25.isPresent(), "no JDK 25 on this machine");
        Run demo = new Run(jdk25.get(), List.of(), "demo", "--packets", "300");
        assertThat(demo.output, demo.exit, equalTo(0));
        assertThat(demo.output, containsString("RESULT: everything verified"));
        assertThat(demo.output, demo.output.lines().filter(l -> l.startsWith("WARNING")).toList(),
                org.hamcrest.Matchers.empty());
        Run doctor = new Run(jdk25.get(), List.of(), "doctor");
        assertThat(doctor.output, containsString("ok    Java 25"));
        assertThat(doctor.output, containsString("ok    native access enabled for ALL-UNNAMED"));
        assertThat(doctor.output, containsString("ok    packet memory through FFM (java.lang.foreign)"));
        assertThat(doctor.output, not(containsString("WARNING")));
    }

    /** The test JVM's own JDK: doctor names it and the memory access that goes with it. */
    @Test
    void doctorReportsTheJdkAndItsMemoryAccess() throws Exception {
        Run r = new Run("doctor");
        assertThat(r.output, containsString("ok    Java " + Runtime.version() + " (" + System.getProperty("java.vendor")
                + ") at " + System.getProperty("java.home")));
        assertThat(r.output, containsString(Runtime.version().feature() >= 22 ? "ok    packet memory through FFM"
                : "ok    packet memory through sun.misc.Unsafe: Java " + Runtime.version().feature()));
    }

    @Test
    void demoVerifiesEverything() throws Exception {
        Run r = new Run("demo", "--packets", "600", "--invalidate-every", "150", "--probes", "200");
        assertThat(r.output, r.exit, equalTo(0));
        assertThat(r.output, containsString("byte-exact both ways: yes"));
        assertThat(r.output, containsString("frontend -> backend: 600 frames"));
        assertThat(r.output, containsString("0 corrupt, 0 dropped (backend enqueued 600)"));
        assertThat(r.output, containsString("INVALIDATE from the frontend"));
        assertThat(r.output, containsString("agreed on every translation"));
        assertThat(r.output, containsString("RESULT: everything verified"));
        // an INVALIDATE storm: every mapping, rings included, after every 3 frames back
        Run storm = new Run("demo", "--packets", "300", "--invalidate-every", "3", "--probes", "0");
        assertThat(storm.output, storm.exit, equalTo(0));
        assertThat(storm.output, containsString("0 corrupt, 0 dropped (backend enqueued 300)"));
        Run plain = new Run("demo", "--packets", "300", "--no-iommu", "--no-mergeable");
        assertThat(plain.output, plain.exit, equalTo(0));
        assertThat(plain.output, not(containsString("IOTLB messages")));
        assertThat(plain.output, containsString("RESULT: everything verified"));
    }

    @Test
    void readmeIotlbReplayCommandsAgree() throws Exception {
        // the README's three replay commands, verbatim, through the jar (scripts/jvhost runs the same)
        String trace = Path.of(System.getProperty("jvhost.basedir"), "docs/iotlb-traces/pool-cache.trace").toString();
        Run nativeEngine = new Run("iotlb", "replay", "--engine", "native", trace);
        Run java = new Run("iotlb", "replay", "--engine", "java", trace);
        Run fast = new Run("iotlb", "replay", "--engine", "fast", trace);
        assertThat(nativeEngine.output, nativeEngine.exit, equalTo(0));
        // DPDK's log lines (the native engine starts EAL) go to stderr, which Run merges in
        String nativeOut = nativeEngine.output.replaceAll("(?m)^(WARNING|INFO|SEVERE) dpdk\\..*\n", "");
        assertThat(java.output, equalTo(nativeOut));
        assertThat(fast.exit, equalTo(0));
        assertThat(nativeEngine.output.isBlank(), equalTo(false));
    }

    @Test
    void completionScriptIsGenerated() throws Exception {
        Run r = new Run("generate-completion");
        assertThat(r.output, r.exit, equalTo(0));
        assertThat(r.output, containsString("complete -F"));
        assertThat(r.output, containsString("serve"));
        assertThat(r.output, containsString("demo"));
    }

    @Test
    void doctorChecksTheMachine() throws Exception {
        Run r = new Run("doctor");
        assertThat(r.output, r.exit == 0 || r.exit == 1, equalTo(true));
        assertThat(r.output, containsString("ok    native library loads; DPDK 22.11"));
        assertThat(r.output, containsString("CPUs usable by this process"));
        assertThat(r.output, containsString("hugepages"));
        assertThat(r.output, r.output.contains("all good") || r.output.contains("problem(s) found"), equalTo(true));
        Run bad = new Run("doctor", "--socket-dir", "/no/such/dir");
        assertThat(bad.output, bad.exit, equalTo(1));
        assertThat(bad.output, containsString("FAIL  socket directory /no/such/dir does not exist"));
        assertThat(bad.output, containsString("-> mkdir -p /no/such/dir"));
    }

    @Test
    void doctorNamesAMissingNativeLibrary() throws Exception {
        Run r = new Run(List.of("-Djvhost.library.path=/nonexistent/libjvhost.so"), "doctor");
        assertThat(r.output, r.exit, equalTo(1));
        assertThat(r.output, containsString("FAIL  native library: jvhost native library for linux-x86_64"
                + " (/nonexistent/libjvhost.so): no such file"));
        assertThat(r.output, containsString("CPUs usable by this process")); // the other checks still run
        Run v = new Run(List.of("-Djvhost.library.path=/nonexistent/libjvhost.so"), "--version");
        assertThat(v.output, v.exit, equalTo(0));
        assertThat(v.output, containsString("unavailable (jvhost native library"));
    }

    @Test
    void badInputGivesOneLineAndANonZeroExit() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-cli");
        String sock = dir.resolve("s").toString();
        String[][] cases = {
            {"serve", "--socket", "/no/such/dir/s"},
            {"serve", "--socket", sock, "--mode", "bogus"},
            {"serve", "--socket", sock, "--queues", "0"},
            {"serve", "--socket", sock, "--queues", "many"},
            {"serve", "--socket", sock, "--mode", "forward"},
            {"serve", "--socket", sock, "--", "--no-such-eal-option"},
            {"serve"},
            {"serve", "--socket", sock, "--cpu", "1000"},
            {"no-such-command"},
        };
        String[] expected = {
            "jvhost: socket directory /no/such/dir does not exist",
            "jvhost: unknown mode 'bogus'",
            "jvhost: --queues must be 1..128: 0",
            "jvhost: Invalid value for option '--queues'",
            "jvhost: --mode forward needs exactly two --socket options",
            "jvhost: DPDK refused to start EAL",
            "jvhost: Missing required option: '--socket=PATH'",
            "jvhost: cannot pin thread 'jvhost-serve' to CPUs [1000]",
            "jvhost: Unmatched argument at index 0: 'no-such-command'",
        };
        for (int i = 0; i < cases.length; i++) {
            Run r = new Run(cases[i]);
            assertThat(String.join(" ", cases[i]) + "\n" + r.output, r.exit, equalTo(i == 5 ? 1 : 2));
            assertThat(r.output, containsString(expected[i]));
            assertThat("no stack trace: " + r.output, r.output, not(containsString("\tat ")));
        }
        // a socket path in use by another jvhost
        try (Jvhost first = new Jvhost("serve", "--socket", sock, "--stats-period", "0")) {
            first.awaitOutput("jvhost serve:", 30_000);
            Run second = new Run("serve", "--socket", sock);
            assertThat(second.output, second.exit, equalTo(2));
            assertThat(second.output, containsString("jvhost: socket " + sock + " exists already"));
            first.signal("TERM");
            assertThat(first.output(), first.waitFor(30), equalTo(0));
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void serveLoopbackWithTestpmdThenSigint() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-cli");
        Path sock = dir.resolve("vhost0.sock");
        try (Jvhost serve = new Jvhost("serve", "--socket", sock.toString(), "--mode", "loopback", "--stats-period", "1")) {
            serve.awaitOutput("jvhost serve: loopback", 30_000);
            long sent;
            try (TestPmd tp = TestPmd.start("net_virtio_user0,path=" + sock, "--forward-mode=txonly")) {
                serve.awaitOutput("port0: frontend connected", 20_000);
                tp.command("start");
                Thread.sleep(2500);
                sent = TestPmd.counter(tp.command("stop"), "TX-packets");
                // what testpmd put in its ring is still being drained: jvhost holds back while the
                // guest's unread receive ring is full, then drops after the hold time
                Thread.sleep(3000);
            }
            serve.awaitOutput("port0: frontend gone", 20_000);
            // A process started in the background by a shell ignores SIGINT (POSIX), its children
            // inherit that, and the JVM keeps it ignored: then only SIGTERM can stop serve, and
            // serve says so at start. Seen when CI itself runs in the background.
            if (ServeCommand.sigintIgnored()) { // serve inherits this JVM's dispositions
                assertThat(serve.output(), containsString("SIGINT is ignored"));
                serve.signal("TERM");
            } else {
                serve.signal("INT");
            }
            int exit = serve.waitFor(30);
            String out = serve.output();
            assertThat(out, exit, equalTo(0));
            assertThat(out, containsString("port0 q0: rx "));
            assertThat(out, containsString("Mpps"));
            Matcher m = Pattern.compile("port0 q0: rx (\\d+) packets \\d+ bytes \\| tx (\\d+) packets \\d+ bytes \\| dropped (\\d+)")
                    .matcher(out);
            assertThat(out, m.find(), equalTo(true));
            long rx = Long.parseLong(m.group(1));
            long tx = Long.parseLong(m.group(2));
            long dropped = Long.parseLong(m.group(3));
            assertThat(sent, greaterThan(100L)); // until the guest's unread receive ring fills
            assertThat("every packet testpmd sent was received", rx, equalTo(sent));
            // testpmd's txonly does not read its receive ring: once it is full, what loopback
            // received waits the hold time, then is dropped and counted
            assertThat("sent back or counted as dropped", tx + dropped, equalTo(rx));
            assertThat(tx, greaterThan(0L));
            assertThat(out, containsString("mbufs in use at exit: 0 of "));
        }
        Files.deleteIfExists(dir);
    }
}
