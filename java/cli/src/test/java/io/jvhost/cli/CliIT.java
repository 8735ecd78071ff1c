package io.jvhost.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;

import io.jvhost.testing.ShellWords;
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
import org.junit.jupiter.api.Assumptions;
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
        assertThat(r.output, containsString("complete -F _complete_jvhost -o default jvhost"));
        // bash looks a path's compspec up by its last component: the function must cope with a
        // command word like scripts/jvhost
        Path script = Files.createTempFile("jvhost-completion", ".bash");
        Files.writeString(script, r.output);
        try {
            Process p = new ProcessBuilder("bash", "-c", "source " + script + " 2>/dev/null;"
                    + " COMP_WORDS=(scripts/jvhost se); COMP_CWORD=1; COMP_LINE='scripts/jvhost se';"
                    + " COMP_POINT=${#COMP_LINE}; _complete_jvhost scripts/jvhost se scripts/jvhost; echo \"[${COMPREPLY[*]}]\";"
                    + " COMP_WORDS=(scripts/jvhost serve --du); COMP_CWORD=2; COMP_LINE='scripts/jvhost serve --du';"
                    + " COMP_POINT=${#COMP_LINE}; _complete_jvhost scripts/jvhost --du serve 2>/dev/null;"
                    + " echo \"[${COMPREPLY[*]}]\"").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(out, p.waitFor(), equalTo(0));
            assertThat(out, equalTo("[serve]\n[--duration]\n"));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** Help text wrapped once, by picocli: each line of a paragraph is as full as the width allows. */
    private static void assertWrappedOnce(String help) {
        String[] lines = help.split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            String a = lines[i];
            String b = lines[i + 1];
            // description paragraphs start at column 0; option and table lines are indented
            // (a line ending a sentence may end a paragraph: picocli puts none between description lines)
            if (a.isBlank() || b.isBlank() || a.startsWith(" ") || b.startsWith(" ") || a.startsWith("Usage:")
                    || b.startsWith("Usage:") || a.endsWith(".") || a.endsWith(":")) {
                continue;
            }
            String firstWord = b.split(" ")[0];
            assertThat("'" + a + "' is followed by '" + b + "', whose first word would have fit:\n" + help,
                    a.length() + 1 + firstWord.length(), greaterThan(79)); // picocli keeps column 80 free
        }
        for (String line : lines) {
            assertThat(line, line.length(), lessThanOrEqualTo(80));
        }
    }

    @Test
    void helpTextsFormatAndWrapOnce() throws Exception {
        for (String[] cmd : new String[][] {{"--help"}, {"serve", "--help"}, {"demo", "--help"},
            {"iotlb", "replay", "--help"}, {"doctor", "--help"}, {"info", "--help"}}) {
            Run r = new Run(cmd);
            assertThat(r.output, r.exit, equalTo(0));
            assertThat(r.output, not(containsString("picocli WARN")));
            assertThat(r.output, not(containsString("Could not format")));
            assertWrappedOnce(r.output);
        }
        Run top = new Run("--help");
        // each command's summary in the list is a whole sentence, not the first line of a paragraph
        Matcher demo = Pattern.compile("\n  demo +(.*?)\n  serve", Pattern.DOTALL).matcher(top.output);
        assertThat(top.output, demo.find(), equalTo(true));
        assertThat(demo.group(1).replaceAll("\\s+", " "), equalTo("Run a jvhost backend and the pure-Java frontend"
                + " with a virtual IOMMU in one process and check every frame and translation."));
        assertThat(new Run("iotlb", "replay", "--help").output, containsString("(rte_rand() % n, as DPDK)"));
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
            {"serve", "--socket", sock, "--idle", "bogus"},
        };
        String[] expected = {
            "jvhost: socket directory /no/such/dir does not exist",
            "jvhost: unknown mode 'bogus'",
            "jvhost: --queues must be 1..128: 0",
            "jvhost: Invalid value for option '--queues'",
            "jvhost: --mode forward needs exactly two --socket options",
            "jvhost: DPDK refused to start EAL",
            "jvhost: Missing required option: '--socket=PATH'",
            "jvhost: --cpu 1000: CPU 1000 is not usable by this process, which may use CPUs ",
            "jvhost: Unmatched argument at index 0: 'no-such-command'",
            "jvhost: unknown --idle 'bogus': use adaptive or busy",
        };
        for (int i = 0; i < cases.length; i++) {
            Run r = new Run(cases[i]);
            assertThat(String.join(" ", cases[i]) + "\n" + r.output, r.exit, equalTo(i == 5 ? 1 : 2));
            assertThat(r.output, containsString(expected[i]));
            assertThat("no stack trace: " + r.output, r.output, not(containsString("\tat ")));
            // refused before EAL starts: no banner claiming it serves
            assertThat(r.output, not(containsString("jvhost serve:")));
        }
        // a socket path in use by another jvhost
        try (Jvhost first = new Jvhost("serve", "--socket", sock, "--stats-period", "0")) {
            first.awaitOutput("jvhost serve: loopback", 30_000); // the banner: the socket listens
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
            String waiting = "jvhost serve: waiting for a frontend to connect to " + sock;
            serve.awaitOutput(waiting, 30_000);
            Thread.sleep(2500); // two statistics periods without a frontend
            assertThat("no column of zeros while nobody is connected", serve.output(), not(containsString("Mpps")));
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
            // once at start, once again after the frontend left
            long deadline = System.currentTimeMillis() + 20_000;
            while (serve.output().split(Pattern.quote(waiting), -1).length - 1 < 2) {
                assertThat("a second waiting line in:\n" + serve.output(), System.currentTimeMillis() < deadline,
                        equalTo(true));
                Thread.sleep(50);
            }
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

    private static Matcher finalCounts(String out) {
        Matcher m = Pattern.compile("port0 q0: rx (\\d+) packets \\d+ bytes \\| tx (\\d+) packets \\d+ bytes \\| dropped (\\d+)")
                .matcher(out);
        assertThat(out, m.find(), equalTo(true));
        return m;
    }

    private static void stop(Jvhost serve) throws Exception {
        serve.signal(ServeCommand.sigintIgnored() ? "TERM" : "INT");
        assertThat(serve.output(), serve.waitFor(30), equalTo(0));
    }

    @Test
    void readmeTestpmdPairings() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("jvhost.basedir"), "README.md"));
        Matcher block = Pattern.compile("```sh\\n(scripts/jvhost serve [^\\n]*)\\n(dpdk-testpmd .*?)\\n(testpmd> [^\\n]*)\\n```",
                Pattern.DOTALL).matcher(readme);
        List<String> modes = new ArrayList<>();
        while (block.find()) {
            Path dir = Files.createTempDirectory("jvhost-readme");
            String sock = dir.resolve("vhost0.sock").toString();
            List<String> serveArgs = ShellWords.split(block.group(1).replace("/tmp/vhost0.sock", sock));
            assertThat(serveArgs.get(0), equalTo("scripts/jvhost")); // the jar is what scripts/jvhost runs
            List<String> testpmd = ShellWords.split(block.group(2).replace("/tmp/vhost0.sock", sock)
                    .replace("--file-prefix=fe", "--file-prefix=jvhost-readme-" + ProcessHandle.current().pid()));
            String start = block.group(3).substring("testpmd> ".length());
            String mode = serveArgs.get(serveArgs.indexOf("--mode") + 1);
            modes.add(mode + "/" + start);
            long sent;
            long received;
            try (Jvhost serve = new Jvhost(serveArgs.subList(1, serveArgs.size()).toArray(String[]::new))) {
                serve.awaitOutput("jvhost serve: " + mode, 30_000);
                try (TestPmd tp = TestPmd.run(testpmd)) {
                    serve.awaitOutput("port0: frontend connected", 20_000);
                    tp.command(start);
                    Thread.sleep(2000);
                    String stats = tp.command("stop");
                    sent = TestPmd.counter(stats, "TX-packets");
                    received = TestPmd.counter(stats, "RX-packets");
                    Thread.sleep(500); // jvhost drains what testpmd left in its ring
                }
                serve.awaitOutput("port0: frontend gone", 20_000);
                stop(serve);
                String out = serve.output();
                Matcher m = finalCounts(out);
                long rx = Long.parseLong(m.group(1));
                long tx = Long.parseLong(m.group(2));
                long dropped = Long.parseLong(m.group(3));
                assertThat(out, rx, equalTo(sent)); // everything testpmd sent arrived
                assertThat(out, sent, greaterThan(1000L));
                if (mode.equals("sink")) {
                    assertThat(out, tx + dropped, equalTo(0L));
                } else {
                    // the tx_first bursts went round: testpmd got back what jvhost sent, and jvhost
                    // dropped at most what was in flight when testpmd stopped reading
                    String[] words = start.split(" ");
                    long inFlight = 32L * (words.length > 2 ? Long.parseLong(words[2]) : 1);
                    assertThat(out, received, greaterThan(1000L));
                    assertThat(out, tx + dropped, equalTo(rx));
                    assertThat(out, dropped, lessThanOrEqualTo(inFlight));
                }
                assertThat(out, containsString("mbufs in use at exit: 0 of "));
            }
            Files.deleteIfExists(Path.of(sock));
            Files.deleteIfExists(dir);
        }
        assertThat(modes, equalTo(List.of("sink/start", "loopback/start tx_first 8")));
    }

    /** Free hugepages in MiB, from /proc/meminfo. */
    private static long freeHugepageMib() throws IOException {
        long free = 0;
        long sizeKb = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            String[] f = line.split("\\s+");
            if (line.startsWith("HugePages_Free:")) {
                free = Long.parseLong(f[1]);
            } else if (line.startsWith("Hugepagesize:")) {
                sizeKb = Long.parseLong(f[1]);
            }
        }
        return free * sizeKb / 1024;
    }

    @Test
    void hugepageFrontendWithoutSingleFileSegments() throws Exception {
        Assumptions.assumeTrue(freeHugepageMib() >= 128,
                "needs 128 MiB of free hugepages for testpmd (scripts/setup.sh --hugepages 256); free: " + freeHugepageMib() + " MiB");
        Path dir = Files.createTempDirectory("jvhost-cli");
        String sock = dir.resolve("vhost0.sock").toString();
        try (Jvhost serve = new Jvhost("serve", "--socket", sock, "--stats-period", "0")) {
            serve.awaitOutput("jvhost serve: loopback", 30_000);
            // --in-memory: the pages go back to the system when testpmd exits, files or not
            try (TestPmd tp = TestPmd.run(List.of("dpdk-testpmd", "--lcores", "0@0,1@1", "--in-memory", "-m", "64",
                    "--no-pci", "--file-prefix=jvhost-huge-" + ProcessHandle.current().pid(),
                    "--vdev", "net_virtio_user0,path=" + sock, "--", "-i", "--total-num-mbufs=16384"))) {
                assertThat(tp.output(), containsString("Too many memory regions")); // the premise
            }
            serve.awaitOutput("left without sending its memory table", 20_000);
            stop(serve);
            String out = serve.output();
            assertThat(out, containsString("WARNING io.jvhost.vhost.VhostUserPort: frontend on " + sock
                    + " left without sending its memory table"));
            assertThat(out, containsString("start it with --single-file-segments"));
            assertThat(out, not(containsString("port0: frontend connected")));
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void sourceRateHoldsAfterALateFrontend() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-cli");
        String sock = dir.resolve("vhost0.sock").toString();
        long rate = 100_000;
        try (Jvhost serve = new Jvhost("serve", "--socket", sock, "--mode", "source", "--rate", Long.toString(rate),
                "--stats-period", "0")) {
            serve.awaitOutput("jvhost serve: source", 30_000);
            Thread.sleep(3000); // no frontend: the old limiter sent these 3 s worth at once when one came
            try (TestPmd tp = TestPmd.start("net_virtio_user0,path=" + sock, "--forward-mode=rxonly")) {
                serve.awaitOutput("port0: frontend connected", 20_000);
                long t0 = System.nanoTime();
                tp.command("start");
                Thread.sleep(2000);
                String stats = tp.command("stop");
                double secs = (System.nanoTime() - t0) / 1e9;
                long received = TestPmd.counter(stats, "RX-packets");
                // what the ring held before start (256) plus the rate, with room for the bucket and timing;
                // catching up the 3 s would have given 300,000 more
                assertThat(stats, (double) received, lessThan(rate * secs * 1.25 + 1024));
                assertThat(stats, received, greaterThan(0L));
            }
            stop(serve);
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void dpdkLogShowsTheVhostTraceOnRequestOnly() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-cli");
        String sock = dir.resolve("vhost0.sock").toString();
        for (boolean asked : new boolean[] {false, true}) {
            List<String> args = new ArrayList<>(List.of("serve", "--socket", sock, "--stats-period", "0"));
            if (asked) {
                args.addAll(List.of("--dpdk-log", "lib.vhost.*:info"));
            }
            try (Jvhost serve = new Jvhost(args.toArray(String[]::new))) {
                serve.awaitOutput("jvhost serve: loopback", 30_000);
                try (TestPmd tp = TestPmd.start("net_virtio_user0,path=" + sock, "--forward-mode=io")) {
                    serve.awaitOutput("port0: frontend connected", 20_000);
                }
                serve.awaitOutput("port0: frontend gone", 20_000);
                stop(serve);
                String out = serve.output();
                long trace = out.lines().filter(l -> l.startsWith("FINE dpdk.lib.vhost.config: VHOST_CONFIG: ")).count();
                if (asked) {
                    assertThat(out, trace, greaterThan(20L));
                    assertThat(out, containsString("INFO io.jvhost.vhost.VhostUserPort: frontend connected on " + sock));
                    assertThat(out, containsString("INFO io.jvhost.vhost.VhostUserPort: frontend gone from " + sock));
                    assertThat("other types stay at warnings", out, not(containsString("dpdk.lib.eal")));
                } else {
                    // a connection and a disconnection: serve's own two lines, nothing logged
                    assertThat(out, trace, equalTo(0L));
                    assertThat(out, not(containsString("dpdk.")));
                    assertThat(out, not(containsString("io.jvhost.")));
                    assertThat(out, not(containsString("TELEMETRY")));
                }
            }
        }
        Files.deleteIfExists(dir);
    }
}
