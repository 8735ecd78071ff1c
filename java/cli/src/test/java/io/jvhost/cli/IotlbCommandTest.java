package io.jvhost.cli;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import io.jvhost.iotlb.IotlbTrace;
import io.jvhost.testing.ForkedJvm;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jvhost iotlb replay}. */
class IotlbCommandTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    private static Run replay(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        InputStream saved = System.in;
        try {
            if (stdin != null) {
                System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            }
            List<String> argv = new ArrayList<>(List.of("iotlb", "replay"));
            argv.addAll(List.of(args));
            int status = cl.execute(argv.toArray(new String[0]));
            return new Run(status, out.toString(), err.toString());
        } finally {
            System.setIn(saved);
        }
    }

    private static final String TRACE = String.join("\n",
            "# comments and blank lines are ignored",
            "",
            "I 0x1000 0x7f0000001000 0x1000 3",
            "i 8192 0x7f0000005000 4096 1     # lower case, decimal",
            "F 0x1800 0x1000 1",
            "F 0x1800 0x1000 3",
            "V 0x1800 0x1000 3",
            "V 0x1800 0x1000 3",
            "M 0x2000 3",
            "X 0x2000 1 3",
            "M 0x2000 3",
            "P 0x9000 2",
            "R 0x0 0x1000",
            "N",
            "C",
            "N",
            "D",
            "V 0x0 1 1",
            "N",
            "");

    private static final String EXPECTED = String.join("\n",
            "F 0x7f0000001800 0x1000",
            "F 0x0 0x800",
            "V 0x0 0x1000 MISS 0x2000 3",
            "V 0x0 0x1000",
            "M 1",
            "M 0",
            "N 1 1 2046",
            "N 0 0 2048",
            "V 0x0 0x1",
            "N 0 0 2048",
            "");

    @Test
    void replaysAFileOnTheJavaEngines() throws Exception {
        Path trace = dir.resolve("t.trace");
        Files.writeString(trace, TRACE);
        for (String engine : new String[] {"java", "fast"}) {
            Run r = replay(null, "--engine", engine, trace.toString());
            assertThat(r.err(), r.status(), equalTo(0));
            assertThat(engine, r.out(), equalTo(EXPECTED));
            assertThat(r.err(), equalTo(""));
        }
    }

    @Test
    void readsStandardInput() {
        Run r = replay(TRACE);
        assertThat(r.status(), equalTo(0));
        assertThat(r.out(), equalTo(EXPECTED));
    }

    @Test
    void aBadLineIsNamedOnStderrWithStatus2AndNothingElse() {
        String[][] cases = {
            {"I 1 2 3 1\nF 1 2\n", "line 2: F takes 3 arguments (iova size perm), got 2"},
            {"\n# x\nF 1 2 4\n", "line 3: perm must be 1 (RO), 2 (WO) or 3 (RW), got '4'"},
            {"Z\n", "line 1: unknown operation 'Z' (expected one of I R F M P X C V D N)"},
            {"R -5 1\n", "line 1: iova '-5' is not an unsigned 64-bit number (decimal, or hex with 0x)"},
            {"R 1 0x10000000000000000\n", "line 1: size '0x10000000000000000' is not an unsigned 64-bit number"
                    + " (decimal, or hex with 0x)"},
            {"C 1\n", "line 1: C takes 0 arguments, got 1"},
            {"FF 1 1 1\n", "line 1: unknown operation 'FF' (expected one of I R F M P X C V D N)"},
        };
        for (String[] c : cases) {
            Run r = replay(c[0]);
            assertThat(c[0], r.status(), equalTo(2));
            assertThat(c[0], r.err(), equalTo(c[1] + System.lineSeparator()));
            assertThat(c[0], r.out(), equalTo(""));
        }
    }

    @Test
    void badOptionsExitWith2() {
        assertThat(replay("", "--engine", "rust").status(), equalTo(2));
        assertThat(replay("", "--eviction", "lru").status(), equalTo(2));
        assertThat(replay("", "--pool", "0").status(), equalTo(2));
        assertThat(replay("", "--engine", "native", "--pool", "16").status(), equalTo(2));
        assertThat(replay(null, dir.resolve("missing").toString()).status(), equalTo(2));
    }

    /** A random trace with pool-filling phases, as the differential tests make them. */
    private static String randomTrace(long seed, int count) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long page = rnd.nextInt(3000) * 0x1000L;
            int perm = 1 + rnd.nextInt(3);
            switch (rnd.nextInt(6)) {
                case 0:
                case 1:
                    lines.add(IotlbTrace.Op.of('I', page, 0x7f00_0000_0000L + page, 0x1000 * (1 + rnd.nextInt(2)), perm)
                            .toLine());
                    break;
                case 2:
                    lines.add(IotlbTrace.Op.of('F', page + rnd.nextInt(0x1000), rnd.nextInt(0x3000), perm).toLine());
                    break;
                case 3:
                    lines.add(IotlbTrace.Op.of('V', page, 0x1000, perm).toLine());
                    break;
                case 4:
                    lines.add(IotlbTrace.Op.of('R', page, rnd.nextInt(0x3000)).toLine());
                    break;
                default:
                    lines.add(rnd.nextInt(50) == 0 ? "N" : IotlbTrace.Op.of('P', page, perm).toLine());
            }
        }
        return lines.stream().collect(Collectors.joining("\n", "", "\n"));
    }

    @Test
    void theThreeEnginesPrintTheSameWithTheSameSeed() throws Exception {
        Path trace = dir.resolve("random.trace");
        Files.writeString(trace, randomTrace(11, 12_000));
        Run java = replay(null, "--engine", "java", "--seed", "77", trace.toString());
        Run fast = replay(null, "--engine", "fast", "--eviction", "dpdk", "--seed", "77", trace.toString());
        assertThat(java.status(), equalTo(0));
        assertThat(java.out().lines().count(), greaterThan(1000L));
        assertThat(fast.out(), equalTo(java.out()));
        // the native engine starts EAL: in a JVM of its own
        ForkedJvm.Result nat = ForkedJvm.run(Main.class, List.of("-Djava.util.logging.config.file=/dev/null"),
                "iotlb", "replay", "--engine", "native", "--seed", "77", trace.toString());
        assertThat(nat.toString(), nat.exitCode(), equalTo(0));
        List<String> nativeLines = nat.output().lines()
                .filter(l -> l.matches("^[FVMN] .*")).collect(Collectors.toList());
        assertThat(String.join("\n", nativeLines) + "\n", equalTo(java.out()));
        // and without --eviction dpdk the fast engine evicts its own way: it fills past 2048 here
        Run fastFifo = replay(null, "--engine", "fast", trace.toString());
        assertThat(fastFifo.status(), equalTo(0));
    }
}
