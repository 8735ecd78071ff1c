package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code jvhost serve ARGS} as a user runs it: io.jvhost.cli.Main in a JVM of its own with the test
 * class path (no {@code mvn package} needed), output in a file. {@link #stop()} sends SIGTERM, after
 * which serve prints its final counts; {@link #close()} kills it whatever state it is in.
 */
final class ServeProcess implements AutoCloseable {
    static final Pattern QUEUE = Pattern.compile(
            "port(\\d+) q(\\d+): rx (\\d+) packets (\\d+) bytes \\| tx (\\d+) packets (\\d+) bytes \\| dropped (\\d+)");

    final Path log;
    final Process process;

    private ServeProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * serve's banner, printed once its ports listen. Not just "jvhost serve: ": serve started with
     * SIGINT ignored (a test run in a background job) first prints a note with that prefix, and a
     * QEMU started on it found no socket yet (every guest test failed so).
     */
    static final Pattern LISTENING = Pattern.compile("jvhost serve: \\w+ on \\[");

    /** Starts serve and waits (up to 60 s) until it listens. */
    static ServeProcess start(List<String> args, Path log) throws Exception {
        Process p = new ProcessBuilder(command(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ServeProcess s = new ServeProcess(p, log);
        s.awaitLog(LISTENING, 60);
        return s;
    }

    /** {@code jvhost ARGS}: io.jvhost.cli.Main in a JVM of its own with the test class path. */
    static List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String logging = System.getProperty("java.util.logging.config.file");
        if (logging != null) {
            cmd.add("-Djava.util.logging.config.file=" + logging);
        }
        String library = System.getProperty("jvhost.library.path");
        if (library != null && !library.isEmpty()) {
            cmd.add("-Djvhost.library.path=" + library);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.jvhost.cli.Main"));
        cmd.addAll(args);
        return cmd;
    }

    /** Waits until serve's output contains {@code text}; fails if it exits or the time runs out first. */
    void awaitLog(String text, long seconds) throws Exception {
        awaitLog(Pattern.compile(Pattern.quote(text)), seconds);
    }

    /** Waits until serve's output has a match of {@code pattern}; fails if it exits or the time runs out first. */
    void awaitLog(Pattern pattern, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!pattern.matcher(log()).find()) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                fail("no '" + pattern + "' from jvhost serve within " + seconds + " s:\n" + log());
            }
            Thread.sleep(50);
        }
    }

    /** SIGTERM, then waits (60 s) for serve to exit 0 with every mbuf back; returns its whole output. */
    String stop() throws Exception {
        process.destroy(); // SIGTERM: serve prints its final counts
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            fail("jvhost serve did not stop within 60 s of SIGTERM:\n" + log());
        }
        String served = log();
        assertThat(served, process.exitValue(), equalTo(0));
        assertThat(served, containsString("mbufs in use at exit: 0 of"));
        return served;
    }

    String log() throws IOException {
        return QemuGuest.read(log);
    }

    /**
     * serve's final counts for one port, per queue pair: rx packets, rx bytes, tx packets, tx bytes,
     * dropped.
     */
    static long[][] finalCounts(String served, int port, int queuePairs) {
        int at = served.indexOf("final after");
        assertThat(served, at >= 0, equalTo(true));
        long[][] r = new long[queuePairs][];
        Matcher m = QUEUE.matcher(served.substring(at));
        while (m.find()) {
            if (Integer.parseInt(m.group(1)) != port) {
                continue;
            }
            int q = Integer.parseInt(m.group(2));
            r[q] = new long[] {Long.parseLong(m.group(3)), Long.parseLong(m.group(4)), Long.parseLong(m.group(5)),
                Long.parseLong(m.group(6)), Long.parseLong(m.group(7))};
        }
        for (int q = 0; q < queuePairs; q++) {
            assertThat("no final count for port" + port + " q" + q + " in:\n" + served, r[q] != null, equalTo(true));
        }
        return r;
    }

    @Override
    public void close() throws InterruptedException {
        boolean interrupted = Thread.interrupted();
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
