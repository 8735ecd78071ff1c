package io.jvhost.cli;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.iotlb.Iotlb;
import io.jvhost.iotlb.IotlbEngine;
import io.jvhost.iotlb.IotlbTrace;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jvhost iotlb}: DPDK's vhost IOTLB and its Java models. */
@Command(name = "iotlb", mixinStandardHelpOptions = true,
        description = "DPDK 22.11's vhost IOTLB, natively and in Java.",
        subcommands = {IotlbCommand.Replay.class, CommandLine.HelpCommand.class})
public final class IotlbCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code jvhost iotlb replay}: runs a trace on one engine. */
    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = {
                "Run an IOTLB trace on one engine and print the results, so that engines (and DPDK versions)"
                    + " can be diffed.",
                "",
                "Trace format: one operation per line; numbers decimal or 0x hex; perm 1=RO 2=WO 3=RW;"
                    + " # starts a comment.",
                "  I iova uaddr size perm  cache insert",
                "  R iova size             cache remove",
                "  F iova size perm        cache find    -> F <vva> <size found mapped>",
                "  M iova perm             pending miss? -> M 0 | M 1",
                "  P iova perm             pending insert",
                "  X iova size perm        pending remove",
                "  C                       flush all",
                "  V iova size perm        translate     -> V <vva> <size>[ MISS <iova> <perm>]",
                "  D                       disconnect the frontend: later MISS sends fail",
                "  N                       counts        -> N <cached> <pending> <free>",
                "V is DPDK's __vhost_iova_to_vva. Operations without an arrow print nothing. Output numbers are lowercase hex with 0x. The whole"
                    + " trace is checked before it runs: a bad line prints 'line N: <what is wrong>' on stderr and"
                    + " exits with status 2.",
                "",
                "Engines: java = the bit-exact Java model, native = DPDK itself (starts EAL), fast = the"
                    + " O(log n) Java model (evicts by --eviction). Evictions draw rte_rand(): --seed N calls"
                    + " rte_srand(N) (native) or seeds the Java port the same way; the Java engines draw from"
                    + " lcore state 0, the main lcore's, which DPDK uses for this tool's thread.",
            })
    static final class Replay implements Callable<Integer> {
        @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "java",
                description = "java, native or fast (default: ${DEFAULT-VALUE})")
        String engine;

        @Option(names = "--seed", paramLabel = "N",
                description = "seed for random eviction (rte_srand); default: DPDK's own random seed")
        Long seed;

        @Option(names = "--eviction", paramLabel = "POLICY", defaultValue = "oldest",
                description = "fast engine's eviction: oldest (its own, FIFO) or dpdk (rte_rand() %% n, as DPDK)"
                        + " (default: ${DEFAULT-VALUE})")
        String eviction;

        @Option(names = "--pool", paramLabel = "N", defaultValue = "2048",
                description = "pool entries of the java and fast engines (DPDK's is 2048; default: ${DEFAULT-VALUE})")
        int pool;

        @Parameters(arity = "0..1", paramLabel = "FILE", description = "the trace (default: standard input)")
        Path file;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PrintWriter err = spec.commandLine().getErr();
            IotlbEngine engineKind;
            try {
                engineKind = IotlbEngine.of(engine);
            } catch (IllegalArgumentException e) {
                err.println("jvhost: --engine must be java, native or fast, not '" + engine + "'");
                err.flush();
                return 2;
            }
            if (!eviction.equals("oldest") && !eviction.equals("dpdk")) {
                err.println("jvhost: --eviction must be oldest or dpdk, not '" + eviction + "'");
                err.flush();
                return 2;
            }
            if (pool < 1) {
                err.println("jvhost: --pool must be at least 1, not " + pool);
                err.flush();
                return 2;
            }
            if (engineKind == IotlbEngine.NATIVE && pool != Iotlb.DPDK_POOL_SIZE) {
                err.println("jvhost: the native engine's pool is DPDK's, " + Iotlb.DPDK_POOL_SIZE + " entries");
                err.flush();
                return 2;
            }
            List<IotlbTrace.Op> ops;
            try (Reader in = file == null
                    ? new InputStreamReader(System.in, StandardCharsets.UTF_8)
                    : Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                ops = IotlbTrace.parse(in);
            } catch (IotlbTrace.ParseException e) {
                err.println(e.getMessage());
                err.flush();
                return 2;
            } catch (IOException e) {
                err.println("jvhost: cannot read " + (file == null ? "standard input" : file) + ": " + e);
                err.flush();
                return 2;
            }

            PrintWriter out = spec.commandLine().getOut();
            if (engineKind == IotlbEngine.NATIVE) {
                DpdkLog.setLevel(DpdkLogLevel.WARNING);
                Eal eal = Eal.start(EalConfig.builder().memoryMb(64).build());
                try (eal; IotlbEngine.Opened opened = engineKind.open(pool, seed, 0, true)) {
                    run(opened.iotlb(), ops, out);
                }
            } else {
                try (IotlbEngine.Opened opened = engineKind.open(pool, seed, 0, eviction.equals("dpdk"))) {
                    run(opened.iotlb(), ops, out);
                }
            }
            out.flush();
            return 0;
        }

        private static void run(Iotlb engine, List<IotlbTrace.Op> ops, PrintWriter out) {
            long[] scratch = new long[1];
            for (IotlbTrace.Op op : ops) {
                String line = IotlbTrace.run(engine, op, scratch);
                if (line != null) {
                    out.println(line);
                }
            }
        }
    }
}
