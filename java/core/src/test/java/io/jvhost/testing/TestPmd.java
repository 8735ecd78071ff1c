package io.jvhost.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * DPDK's dpdk-testpmd in interactive mode, as a child process: a real frontend (net_virtio_user)
 * or backend (net_vhost) nobody here wrote. Output is collected; commands go to its stdin.
 */
public final class TestPmd implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Process process;
    private final StringBuilder output = new StringBuilder();
    private final OutputStream stdin;

    private TestPmd(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = process.getInputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (output) {
                        output.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                        output.notifyAll();
                    }
                }
            } catch (IOException e) {
                // process ended
            }
        }, "testpmd-output");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts testpmd with one vdev, no hugepages, its forwarding lcore on the other CPU than the
     * main one.
     *
     * @param vdev the --vdev value, e.g. "net_virtio_user0,path=/tmp/x.sock"
     * @param appArgs testpmd's own arguments after "--" ("-i" is added)
     * @return the running testpmd, at its prompt
     */
    public static TestPmd start(String vdev, String... appArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL", "dpdk-testpmd", "--lcores", "0@0,1@1", "--no-huge", "-m", "512",
                "--no-pci", "--file-prefix=jvhost-tp-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet(),
                "--vdev", vdev, "--", "-i", "--total-num-mbufs=16384"));
        cmd.addAll(List.of(appArgs));
        TestPmd t = new TestPmd(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        t.awaitOutput("testpmd> ", 30_000);
        return t;
    }

    /**
     * Starts testpmd exactly as given (a README's command line, say), with line-buffered output.
     *
     * @param command dpdk-testpmd and its arguments, "-i" among them
     * @return the running testpmd, at its prompt
     */
    public static TestPmd run(List<String> command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL"));
        cmd.addAll(command);
        TestPmd t = new TestPmd(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        t.awaitOutput("testpmd> ", 30_000);
        return t;
    }

    /**
     * @param line a testpmd command
     * @return the output it printed up to the next prompt
     */
    public String command(String line) throws IOException, InterruptedException {
        int from;
        synchronized (output) {
            from = output.length();
        }
        stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        return awaitOutput(from, "testpmd> ", 30_000);
    }

    /** @return everything it printed so far */
    public String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    private String awaitOutput(String text, long millis) throws InterruptedException {
        return awaitOutput(0, text, millis);
    }

    private String awaitOutput(int from, String text, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        synchronized (output) {
            while (output.indexOf(text, from) < 0) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0 || !process.isAlive() && output.indexOf(text, from) < 0) {
                    if (!process.isAlive()) {
                        Thread.sleep(100);
                    }
                    throw new AssertionError("testpmd did not print '" + text + "' (alive: " + process.isAlive()
                            + "); output:\n" + output);
                }
                output.wait(Math.min(left, 100));
            }
            return output.substring(from, output.indexOf(text, from));
        }
    }

    /**
     * @param text output of a command, e.g. "stop"
     * @param counter e.g. "TX-packets" or "RX-packets"
     * @return the first value of that counter in it
     */
    public static long counter(String text, String counter) {
        Matcher m = Pattern.compile(Pattern.quote(counter) + ":\\s+(\\d+)").matcher(text);
        if (!m.find()) {
            throw new AssertionError("no " + counter + " in:\n" + text);
        }
        return Long.parseLong(m.group(1));
    }

    /** Kills it with SIGKILL, as a crash would. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        closeStdin();
    }

    private void closeStdin() {
        try {
            stdin.close();
        } catch (IOException e) {
            // gone already
        }
    }

    /** @return whether it still runs */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Quits (or kills, if it does not quit in time). */
    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) {
            try {
                stdin.write("quit\n".getBytes(StandardCharsets.UTF_8));
                stdin.flush();
            } catch (IOException e) {
                // already gone
            }
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
        closeStdin();
    }
}
