package io.jvhost.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * DPDK's {@code dpdk-testpmd} with a {@code net_vhost} port, as a child process driven on its
 * standard input (interactive mode): the vhost-user backend nobody here wrote. Unique
 * {@code --file-prefix} and socket path per instance; {@link #close()} quits it (killing it if
 * needed) and removes the socket.
 */
public final class NetVhostTestpmd implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final String PROMPT = "testpmd> ";
    /** Lines testpmd's other threads print on their own. */
    private static final Pattern ASYNC = Pattern.compile("\\nPort \\d+: [^\\n]*event\\n|(VHOST_[A-Z]+|EAL): [^\\n]*\\n");

    private final Process process;
    private final Path socket;
    private final StringBuffer output = new StringBuffer();
    private final OutputStream stdin;
    private final Thread pump;

    /** Options of one testpmd instance. */
    public static final class Options {
        int queues = 1;
        boolean iommu = true;
        boolean client;
        String fwdMode = "io";
        boolean retry = true;
        List<String> extraArgs = new ArrayList<>();

        /**
         * @param n queues (net_vhost queues=, testpmd --rxq/--txq)
         * @return this
         */
        public Options queues(int n) {
            this.queues = n;
            return this;
        }

        /**
         * @param on iommu-support=1
         * @return this
         */
        public Options iommu(boolean on) {
            this.iommu = on;
            return this;
        }

        /**
         * @param on client=1 (testpmd connects to our listening socket)
         * @return this
         */
        public Options client(boolean on) {
            this.client = on;
            return this;
        }

        /**
         * @param on io forwarding with tx retry (set fwd io retry)
         * @return this
         */
        public Options retry(boolean on) {
            this.retry = on;
            return this;
        }

        /**
         * @param mode forwarding mode
         * @return this
         */
        public Options fwdMode(String mode) {
            this.fwdMode = mode;
            return this;
        }
    }

    /** @return default options: 1 queue, iommu-support=1, server mode, io forwarding with retry */
    public static Options options() {
        return new Options();
    }

    private NetVhostTestpmd(Process p, Path socket) {
        this.process = p;
        this.socket = socket;
        this.stdin = p.getOutputStream();
        this.pump = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = p.getInputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    output.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException ignored) {
                // process gone
            }
        }, "testpmd-output");
        pump.setDaemon(true);
        pump.start();
    }

    /**
     * Starts testpmd; in server mode waits until its socket exists, then starts forwarding.
     *
     * @param dir directory for the socket
     * @param o options
     * @return the running testpmd
     */
    public static NetVhostTestpmd start(Path dir, Options o) throws IOException, InterruptedException {
        return launch(dir.resolve("vhost-" + (COUNTER.get() + 1) + ".sock"), o);
    }

    /**
     * Starts testpmd in client mode ({@code client=1}): it connects to {@code sock}, which the
     * frontend creates by listening, and retries every second until it can.
     *
     * @param dir unused (kept for symmetry)
     * @param sock the socket path the frontend will listen on
     * @param o options (client mode is forced)
     * @return the running testpmd
     */
    public static NetVhostTestpmd startClient(Path dir, Path sock, Options o) throws IOException, InterruptedException {
        return launch(sock, o.client(true));
    }

    private static NetVhostTestpmd launch(Path sock, Options o) throws IOException, InterruptedException {
        int id = COUNTER.incrementAndGet();
        String prefix = "jvfe-" + ProcessHandle.current().pid() + "-" + id;
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-o0", "-e0", "dpdk-testpmd", "--lcores", "0@0,1@1", "--no-huge", "-m", "512",
                "--no-pci", "--file-prefix=" + prefix, "--log-level=lib.vhost.config:info",
                "--vdev", "net_vhost0,iface=" + sock + ",queues=" + o.queues + ",iommu-support=" + (o.iommu ? 1 : 0)
                        + (o.client ? ",client=1" : ""),
                "--", "-i", "--port-topology=loop", "--rxq=" + o.queues, "--txq=" + o.queues,
                "--forward-mode=" + o.fwdMode, "--total-num-mbufs=16384"));
        cmd.addAll(o.extraArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        NetVhostTestpmd t = new NetVhostTestpmd(pb.start(), sock);
        try {
            t.awaitOutput(PROMPT, Duration.ofSeconds(30));
            if (!o.client) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!Files.exists(sock)) {
                    if (!t.process.isAlive() || System.nanoTime() > deadline) {
                        throw new IOException("testpmd did not create " + sock + ":\n" + t.output());
                    }
                    Thread.sleep(5);
                }
            }
            if (o.retry && o.fwdMode.equals("io")) {
                t.command("set fwd io retry");
                t.command("set burst tx delay 10 retry 100000");
            }
            t.command("start");
        } catch (IOException | RuntimeException | InterruptedException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** @return the vhost-user socket path */
    public Path socket() {
        return socket;
    }

    /** @return everything testpmd printed so far */
    public String output() {
        return output.toString();
    }

    /**
     * Sends one command and waits for the next prompt.
     *
     * @param line the command
     * @return what testpmd printed in answer
     */
    public synchronized String command(String line) throws IOException, InterruptedException {
        int mark = output.length();
        stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            // other testpmd threads print (vhost logs, "Port 0: ... event") at any moment, even in
            // the middle of the prompt: take their whole lines out before looking for it
            String s = ASYNC.matcher(output.substring(Math.min(mark, output.length()))).replaceAll("");
            int p = s.indexOf(PROMPT);
            if (p >= 0) {
                return s.substring(0, p);
            }
            if (!process.isAlive()) {
                throw new IOException("testpmd exited (" + process.exitValue() + ") during '" + line + "':\n" + output());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("testpmd did not answer '" + line + "':\n" + output());
            }
            Thread.sleep(2);
        }
    }

    private void awaitOutput(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (output.indexOf(text) < 0) {
            if (!process.isAlive()) {
                throw new IOException("testpmd exited (" + process.exitValue() + "):\n" + output());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("testpmd did not print '" + text + "':\n" + output());
            }
            Thread.sleep(5);
        }
    }

    /**
     * @return port 0's basic counters: RX-packets, RX-missed, RX-errors, RX-bytes, TX-packets,
     *         TX-errors, TX-bytes, RX-nombuf (names as testpmd prints them)
     */
    public Map<String, Long> portStats() throws IOException, InterruptedException {
        String s = command("show port stats 0");
        Map<String, Long> m = new HashMap<>();
        Matcher mt = Pattern.compile("([A-Za-z-]+):\\s+(\\d+)").matcher(s);
        while (mt.find()) {
            m.putIfAbsent(mt.group(1), Long.parseLong(mt.group(2)));
        }
        return m;
    }

    /** @return port 0's extended statistics by name (e.g. rx_q0_good_packets, tx_q0_iotlb_misses) */
    public Map<String, Long> xstats() throws IOException, InterruptedException {
        String s = command("show port xstats 0");
        Map<String, Long> m = new HashMap<>();
        Matcher mt = Pattern.compile("(?m)^\\s*([A-Za-z0-9_]+):\\s+(\\d+)\\s*$").matcher(s);
        while (mt.find()) {
            m.put(mt.group(1), Long.parseLong(mt.group(2)));
        }
        return m;
    }

    /** @return forward statistics as printed by "show fwd stats all" */
    public String fwdStats() throws IOException, InterruptedException {
        return command("show fwd stats all");
    }

    /** @return whether the process still runs */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Quits testpmd (kills it if it does not quit within 5 s) and removes the socket. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                try {
                    stdin.write("stop\nquit\n".getBytes(StandardCharsets.UTF_8));
                    stdin.flush();
                    stdin.close();
                } catch (IOException ignored) {
                    // already gone
                }
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(2, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                        process.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
