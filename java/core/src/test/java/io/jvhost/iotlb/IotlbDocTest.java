package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

import io.jvhost.iotlb.IotlbTrace.Op;
import io.jvhost.protocol.Access;
import io.jvhost.testing.SharedEal;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every trace in docs/iotlb.md (a fenced {@code iotlb-trace} block, or an
 * {@code <!-- iotlb-trace-file: PATH -->} line) is replayed with seed 1 on DPDK itself, on the
 * exact model and on the fast one (DPDK's eviction), and must print the {@code iotlb-output} block
 * that follows it; where an {@code iotlb-plain} block follows too, a plain interval map must print
 * that. So nothing the document says about DPDK's behaviour is guessed.
 */
class IotlbDocTest {
    private static final Path TOP = Path.of(System.getProperty("jvhost.basedir", "."));
    private static final Path DOC = TOP.resolve("docs/iotlb.md");
    private static final Pattern FILE_DIRECTIVE = Pattern.compile("<!--\\s*iotlb-trace-file:\\s*(\\S+)\\s*-->");

    private record Block(String kind, String text, String section, int line) {
    }

    private static List<Block> blocks() throws Exception {
        List<String> lines = Files.readAllLines(DOC);
        List<Block> blocks = new ArrayList<>();
        String section = "";
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("#")) {
                section = l.replaceFirst("^#+\\s*", "");
            }
            Matcher m = FILE_DIRECTIVE.matcher(l);
            if (m.find()) {
                blocks.add(new Block("file", Files.readString(TOP.resolve(m.group(1))), section, i + 1));
                continue;
            }
            if (l.startsWith("```iotlb-")) {
                String kind = l.substring(3).trim();
                StringBuilder b = new StringBuilder();
                int start = i + 1;
                for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
                    b.append(lines.get(i)).append('\n');
                }
                blocks.add(new Block(kind, b.toString(), section, start));
            }
        }
        return blocks;
    }

    private static List<String> run(Iotlb engine, String trace) throws Exception {
        List<Op> ops = IotlbTrace.parse(new StringReader(trace));
        return IotlbTrace.runAll(engine, ops);
    }

    private static List<String> lines(String text) {
        return text.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void everyTraceInTheDocumentPrintsWhatTheDocumentSays() throws Exception {
        SharedEal.get();
        List<Block> blocks = blocks();
        List<String> failures = new ArrayList<>();
        int traces = 0;
        int plains = 0;
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            if (!b.kind().equals("iotlb-trace") && !b.kind().equals("file")) {
                continue;
            }
            traces++;
            String where = DOC + ":" + b.line() + " (" + b.section() + ")";
            if (i + 1 >= blocks.size() || !blocks.get(i + 1).kind().equals("iotlb-output")) {
                failures.add(where + ": no iotlb-output block after the trace");
                continue;
            }
            List<String> expected = lines(blocks.get(i + 1).text());
            String trace = b.text();
            List<List<String>> got = new ArrayList<>();
            Engines.each(1, engine -> {
                try {
                    got.add(run(engine, trace));
                } catch (Exception e) {
                    throw new AssertionError(where + ": " + e.getMessage(), e);
                }
            });
            for (int e = 0; e < 3; e++) {
                if (!got.get(e).equals(expected)) {
                    failures.add(where + ": the " + Engines.NAMES[e] + " engine printed\n  "
                            + String.join("\n  ", got.get(e)) + "\nthe document says\n  "
                            + String.join("\n  ", expected));
                }
            }
            if (i + 2 < blocks.size() && blocks.get(i + 2).kind().equals("iotlb-plain")) {
                plains++;
                // the plain map has no pending list and no MISS: it skips V M P X D
                List<Op> cacheOps = IotlbTrace.parse(new StringReader(trace)).stream()
                        .filter(op -> "IRFCN".indexOf(op.code()) >= 0).toList();
                List<String> plain = IotlbTrace.runAll(new PlainIntervalMap(), cacheOps);
                List<String> expectedPlain = lines(blocks.get(i + 2).text());
                if (!plain.equals(expectedPlain)) {
                    failures.add(where + ": a plain interval map prints\n  " + String.join("\n  ", plain)
                            + "\nthe document says\n  " + String.join("\n  ", expectedPlain));
                }
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(String.join("\n\n", failures));
        }
        assertThat("traces in " + DOC, traces, greaterThanOrEqualTo(12));
        assertThat("plain-map comparisons in " + DOC, plains, greaterThanOrEqualTo(8));
    }

    @Test
    void thePlainIntervalMapIsOne() {
        PlainIntervalMap m = new PlainIntervalMap();
        m.cacheInsert(0x1000, 0xa000, 0x3000, Access.RW);
        m.cacheInsert(0x2000, 0xf000, 0x1000, Access.RO);
        m.cacheRemove(0x3800, 0x100);
        assertThat(m.cacheEntries(), equalTo(List.of(
                new IotlbEntry(0x1000, 0xa000, 0x1000, Access.RW),
                new IotlbEntry(0x2000, 0xf000, 0x1000, Access.RO),
                new IotlbEntry(0x3000, 0xc000, 0x800, Access.RW),
                new IotlbEntry(0x3900, 0xc900, 0x700, Access.RW))));
        long[] size = {0x3000};
        assertThat(m.cacheFind(0x1800, size, Access.RO), equalTo(0xa800L));
        assertThat(size[0], equalTo(0x800L));
        m.cacheInsert(0x2000, 0xb000, 0x1000, Access.RW);
        size[0] = 0x3000;
        assertThat(m.cacheFind(0x1800, size, Access.RO), equalTo(0xa800L));
        assertThat(size[0], equalTo(0x2000L));
        m.cacheInsert(-0x1000L, 0x5000, 0x1000, Access.RO);
        size[0] = 1;
        assertThat(m.cacheFind(-1L, size, Access.RO), equalTo(0x5fffL));
        assertThat(size[0], equalTo(1L));
    }
}
