package io.jvhost.cli;

import io.jvhost.eal.Eal;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import io.jvhost.loop.IdleStrategy;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.metrics.JmxMetrics;
import io.jvhost.metrics.JsonStats;
import io.jvhost.metrics.PrometheusEndpoint;
import io.jvhost.metrics.ServerSnapshot;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostListener;
import io.jvhost.vhost.VhostUserPort;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/** {@code jvhost serve}: vhost-user ports served until Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve vhost-user ports until SIGINT/SIGTERM (or --duration), then print final counts and exit 0.",
            "Modes: loopback (each port's packets back to it), macswap (loopback, Ethernet addresses swapped),"
                + " forward (between two ports), sink (count and free), source (generate --size byte frames at --rate)."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "vhost-user socket (repeatable)")
    List<Path> sockets = new ArrayList<>();

    @Option(names = "--client", description = "connect to the frontend's socket instead of listening")
    boolean client;

    @Option(names = "--iommu", description = "offer VIRTIO_F_IOMMU_PLATFORM (vIOMMU / IOTLB path)")
    boolean iommu;

    @Option(names = "--queues", paramLabel = "N", description = "queue pairs per port (default: ${DEFAULT-VALUE})")
    int queues = 1;

    @Option(names = "--mode", paramLabel = "MODE", description = "loopback|macswap|forward|sink|source (default: ${DEFAULT-VALUE})")
    String mode = "loopback";

    @Option(names = "--size", paramLabel = "BYTES", description = "source frame size (default: ${DEFAULT-VALUE})")
    int size = 64;

    @Option(names = "--rate", paramLabel = "PPS", description = "source rate per port and queue, 0 = max (default: ${DEFAULT-VALUE})")
    long rate;

    @Option(names = "--stats-period", paramLabel = "S", description = "seconds between statistics lines, 0 = none (default: ${DEFAULT-VALUE})")
    double statsPeriod = 1;

    @Option(names = "--stats-format", paramLabel = "FORMAT", description = "text, or json: one JSON object per line"
            + " on stdout, the other messages on stderr (default: ${DEFAULT-VALUE})")
    String statsFormat = "text";

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "serve Prometheus metrics over HTTP at"
            + " /metrics on this TCP port, 0 = any free one (default: none)")
    Integer metricsPort;

    @Option(names = "--metrics-address", paramLabel = "ADDR", description = "address for --metrics-port"
            + " (default: ${DEFAULT-VALUE}, local only)")
    String metricsAddress = "127.0.0.1";

    @Option(names = "--duration", paramLabel = "S", description = "stop by itself after S seconds (default: run until signalled)")
    double duration;

    @Option(names = "--hold-ms", paramLabel = "MS", description = "how long packets wait for a guest that takes none"
            + " before they are dropped and counted (default: ${DEFAULT-VALUE})")
    double holdMs = PortServer.DEFAULT_HOLD_NANOS / 1e6;

    @Option(names = "--mbufs", paramLabel = "N", description = "mbuf pool size (default: ${DEFAULT-VALUE})")
    int mbufs = 16384;

    @Option(names = "--cpu", paramLabel = "CPU", split = ",", description = "pin the serving thread (only it, like a"
            + " DPDK forwarding lcore) to these CPUs, e.g. 0 or 2,3 (default: not pinned)")
    int[] cpus;

    @Option(names = "--idle", paramLabel = "HOW", description = "adaptive: back off to parking (at most 1 ms) when"
            + " there is no traffic; busy: poll at 100 %% of a core, for benchmarks (default: ${DEFAULT-VALUE})")
    String idle = "adaptive";

    @Mixin
    EalOptions eal;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Mode m = parseMode();
        boolean json = parseStatsFormat();
        PrintWriter stats = out;
        if (json) {
            out = spec.commandLine().getErr(); // stdout carries the JSON lines only
        }
        InetSocketAddress metricsAt = metricsAddress();
        if (queues < 1 || queues > 128) {
            throw new IllegalArgumentException("--queues must be 1..128: " + queues);
        }
        if (statsPeriod < 0 || duration < 0 || holdMs < 0) {
            throw new IllegalArgumentException("--stats-period, --duration and --hold-ms must not be negative");
        }
        if (mbufs < 1024) {
            throw new IllegalArgumentException("--mbufs must be at least 1024: " + mbufs);
        }
        if (cpus != null) {
            Cpus.requireUsable("--cpu", cpus); // before EAL starts and the banner claims success
        }
        IdleStrategy idleStrategy = parseIdle();
        DpdkLog.setLevel(DpdkLogLevel.WARNING);
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        if (sigintIgnored()) {
            // the JVM does not install a handler for a signal ignored at start (POSIX background jobs)
            spec.commandLine().getErr().println("jvhost serve: SIGINT is ignored in this process (started in the"
                    + " background?): stop it with SIGTERM");
        }

        try (Eal running = Eal.start(eal.toConfig())) {
            MbufPool pool = MbufPool.create(null, mbufs, 256, Math.max(MbufPool.DEFAULT_DATA_ROOM, size + 256));
            List<VhostUserPort> ports = new ArrayList<>();
            for (int i = 0; i < sockets.size(); i++) {
                ports.add(VhostUserPort.builder(sockets.get(i)).client(client).iommu(iommu).maxQueuePairs(queues)
                        .listener(announcer(out, i)).open());
            }
            out.printf("jvhost serve: %s on %s%s%s, %d queue pair(s); %s%n", m.toString().toLowerCase(Locale.ROOT),
                    sockets, client ? " (client)" : "", iommu ? " with IOMMU" : "", queues, running.dpdkVersion());
            List<Path> waiting = new ArrayList<>();
            for (VhostUserPort p : ports) {
                if (p.currentDevice() == null) {
                    waiting.add(p.socket());
                }
            }
            if (!waiting.isEmpty()) {
                out.println(waitingLine(waiting));
            }
            out.flush();
            JmxMetrics jmx = null;
            PrometheusEndpoint http = null;
            ServerSnapshot first = null;
            long started = System.nanoTime();
            PortServer server = PortServer.start(ports, m, pool, size, rate, cpus, idleStrategy)
                    .holdNanos((long) (holdMs * 1e6));
            try {
                jmx = JmxMetrics.register(server);
                if (metricsAt != null) {
                    http = PrometheusEndpoint.start(metricsAt, server);
                    out.printf("jvhost serve: metrics at %s%n", http.uri());
                    out.flush();
                }
                // after the setup above (the platform MBean server's start takes a while): the
                // first period's rates then cover a period
                first = ServerSnapshot.of(server);
                ServerSnapshot last = first;
                long periodNanos = (long) (statsPeriod * 1e9);
                long end = duration > 0 ? started + (long) (duration * 1e9) : Long.MAX_VALUE;
                while (true) {
                    long now = System.nanoTime();
                    long wait = Math.min(end - now, periodNanos > 0 ? periodNanos : Long.MAX_VALUE);
                    if (wait <= 0 || stop.await(Math.min(wait, TimeUnit.DAYS.toNanos(1)), TimeUnit.NANOSECONDS)
                            || !server.isRunning()) {
                        break;
                    }
                    if (periodNanos > 0 && System.nanoTime() < end) {
                        ServerSnapshot s = ServerSnapshot.of(server);
                        if (json) {
                            stats.println(JsonStats.line(last, s));
                            stats.flush();
                        } else if (TextStats.worthPrinting(last, s)) {
                            // else no frontend and nothing moved: the waiting line said it all,
                            // and a column of zeros every second would only bury it
                            TextStats.printRates(out, last, s);
                        }
                        last = s;
                    }
                }
            } finally {
                if (http != null) {
                    http.close();
                }
                if (jmx != null) {
                    jmx.close();
                }
                server.close();
                for (VhostUserPort p : ports) {
                    p.close();
                }
            }
            ServerSnapshot end = ServerSnapshot.of(server);
            if (json) {
                stats.println(JsonStats.finalLine(first, end));
                stats.flush();
            } else {
                TextStats.printTotals(out, end, (System.nanoTime() - started) / 1e9);
            }
            // every mbuf is back once the ports and the server are closed; anything else is a leak
            out.printf("mbufs in use at exit: %d of %d%n", pool.inUse(), pool.size());
            out.flush();
            pool.close();
        }
        return 0;
    }

    /** Whether SIGINT was ignored when this process started (bit 2 of SigIgn in /proc/self/status). */
    static boolean sigintIgnored() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 2) != 0;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // not Linux-like: nothing to say
        }
        return false;
    }

    private boolean parseStatsFormat() {
        return switch (statsFormat) {
            case "text" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("unknown --stats-format '" + statsFormat + "': use text or json");
        };
    }

    /** The address for --metrics-port, checked before EAL starts; null without one. */
    private InetSocketAddress metricsAddress() {
        if (metricsPort == null) {
            return null;
        }
        if (metricsPort < 0 || metricsPort > 65535) {
            throw new IllegalArgumentException("--metrics-port must be 0..65535: " + metricsPort);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(metricsAddress), metricsPort);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--metrics-address: unknown host '" + metricsAddress + "'", e);
        }
    }

    private Mode parseMode() {
        try {
            Mode m = Mode.valueOf(mode.toUpperCase(Locale.ROOT));
            if (m == Mode.FORWARD && sockets.size() != 2) {
                throw new IllegalArgumentException("--mode forward needs exactly two --socket options");
            }
            return m;
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("--mode")) {
                throw e;
            }
            throw new IllegalArgumentException("unknown mode '" + mode + "': use loopback, macswap, forward, sink or source");
        }
    }

    private IdleStrategy parseIdle() {
        return switch (idle.toLowerCase(Locale.ROOT)) {
            case "adaptive" -> IdleStrategy.adaptive();
            case "busy" -> IdleStrategy.busySpin();
            default -> throw new IllegalArgumentException("unknown --idle '" + idle + "': use adaptive or busy");
        };
    }

    /** What serve says while a socket has no frontend: a user waiting for traffic should know why. */
    private String waitingLine(List<Path> waiting) {
        return "jvhost serve: waiting for a frontend " + (client ? "to listen at " : "to connect to ")
                + (waiting.size() == 1 ? waiting.get(0) : waiting);
    }

    private VhostListener announcer(PrintWriter out, int index) {
        return new VhostListener() {
            @Override
            public void newDevice(VhostDevice d) {
                out.printf("port%d: frontend connected (vid %d, %d vrings%s)%n", index, d.vid(), d.vringCount(),
                        d.iommu() ? ", IOMMU" : "");
                out.flush();
            }

            @Override
            public void destroyDevice(VhostDevice d) {
                out.printf("port%d: frontend gone (vid %d)%n", index, d.vid());
                if (d.port().isOpen() && d.port().currentDevice() == null) { // the port forgot it before this call
                    out.println(waitingLine(List.of(d.port().socket())));
                }
                out.flush();
            }
        };
    }
}
