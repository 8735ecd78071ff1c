package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * IOTLB traces: one operation per line, run on any {@link Iotlb} so that engines (and DPDK
 * versions) can be compared by their output. The format:
 *
 * <pre>
 * I iova uaddr size perm   cache insert            (no output)
 * R iova size              cache remove            (no output)
 * F iova size perm         cache find              -&gt; "F &lt;vva&gt; &lt;size&gt;"  (size = mapped length found)
 * M iova perm              pending miss?           -&gt; "M 0" or "M 1"
 * P iova perm              pending insert          (no output)
 * X iova size perm         pending remove          (no output)
 * C                        flush all               (no output)
 * V iova size perm         vhost_iova_to_vva       -&gt; "V &lt;vva&gt; &lt;size&gt;", followed by
 *                                                     " MISS &lt;iova&gt; &lt;perm&gt;" when it sent a MISS
 * D                        disconnect the frontend (later MISS sends fail; no output)
 * N                        counts                  -&gt; "N &lt;cache entries&gt; &lt;pending entries&gt; &lt;free pool entries&gt;"
 * </pre>
 *
 * <p>Numbers are unsigned 64-bit, in decimal or {@code 0x} hex; perm is 1 (RO), 2 (WO) or 3 (RW);
 * {@code #} starts a comment; blank lines are ignored; operation letters are case-insensitive.
 * Output numbers are lowercase hex with {@code 0x} and no leading zeros ({@code 0x0} for zero),
 * perms and flags decimal.
 */
public final class IotlbTrace {
    /** A line of a trace that is not a valid operation. */
    public static final class ParseException extends Exception {
        private static final long serialVersionUID = 1L;
        /** The trace line, from 1. */
        private final int line;

        ParseException(int line, String what) {
            super("line " + line + ": " + what);
            this.line = line;
        }

        /** @return the 1-based line number */
        public int line() {
            return line;
        }
    }

    /**
     * One operation.
     *
     * @param code the operation letter, upper case
     * @param args its numbers
     * @param line the 1-based line it came from (0 if made in code)
     */
    public record Op(char code, long[] args, int line) {
        /**
         * @param code operation letter
         * @param args numbers
         * @return an operation not from a file
         */
        public static Op of(char code, long... args) {
            return new Op(Character.toUpperCase(code), args, 0);
        }

        /** @return the operation as a trace line */
        public String toLine() {
            StringBuilder b = new StringBuilder().append(code);
            int permIndex = permIndex(code);
            for (int i = 0; i < args.length; i++) {
                b.append(' ').append(i == permIndex ? Long.toString(args[i]) : Hex.of(args[i]));
            }
            return b.toString();
        }

        @Override
        public String toString() {
            return toLine();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Op op && op.code == code && java.util.Arrays.equals(op.args, args);
        }

        @Override
        public int hashCode() {
            return code * 31 + java.util.Arrays.hashCode(args);
        }
    }

    private IotlbTrace() {
    }

    private static int arity(char code) {
        switch (code) {
            case 'I':
                return 4;
            case 'F':
            case 'X':
            case 'V':
                return 3;
            case 'R':
            case 'M':
            case 'P':
                return 2;
            case 'C':
            case 'D':
            case 'N':
                return 0;
            default:
                return -1;
        }
    }

    private static String argNames(char code) {
        switch (code) {
            case 'I':
                return "iova uaddr size perm";
            case 'F':
            case 'X':
            case 'V':
                return "iova size perm";
            case 'R':
                return "iova size";
            case 'M':
            case 'P':
                return "iova perm";
            default:
                return "";
        }
    }

    /** @return the index of the perm argument, -1 if none */
    static int permIndex(char code) {
        switch (code) {
            case 'I':
                return 3;
            case 'F':
            case 'X':
            case 'V':
                return 2;
            case 'M':
            case 'P':
                return 1;
            default:
                return -1;
        }
    }

    /**
     * Parses one line.
     *
     * @param text the line
     * @param line its 1-based number
     * @return the operation, or null for a blank or comment line
     * @throws ParseException if it is not valid
     */
    public static Op parseLine(String text, int line) throws ParseException {
        int hash = text.indexOf('#');
        String content = (hash >= 0 ? text.substring(0, hash) : text).strip();
        if (content.isEmpty()) {
            return null;
        }
        String[] words = content.split("\\s+");
        if (words[0].length() != 1 || arity(Character.toUpperCase(words[0].charAt(0))) < 0) {
            throw new ParseException(line, "unknown operation '" + words[0] + "' (expected one of I R F M P X C V D N)");
        }
        char code = Character.toUpperCase(words[0].charAt(0));
        int arity = arity(code);
        if (words.length - 1 != arity) {
            throw new ParseException(line, code + " takes " + arity + " argument" + (arity == 1 ? "" : "s")
                    + (arity > 0 ? " (" + argNames(code) + ")" : "") + ", got " + (words.length - 1));
        }
        long[] args = new long[arity];
        String[] names = argNames(code).split(" ");
        for (int i = 0; i < arity; i++) {
            args[i] = parseNumber(words[i + 1], names[i], line);
        }
        int p = permIndex(code);
        if (p >= 0 && (args[p] < Access.RO.wire() || args[p] > Access.RW.wire())) {
            throw new ParseException(line, "perm must be 1 (RO), 2 (WO) or 3 (RW), got '" + words[p + 1] + "'");
        }
        return new Op(code, args, line);
    }

    private static long parseNumber(String word, String name, int line) throws ParseException {
        String w = word.toLowerCase(Locale.ROOT);
        try {
            if (w.startsWith("0x")) {
                String digits = w.substring(2);
                if (digits.isEmpty() || digits.startsWith("+") || digits.startsWith("-")) {
                    throw new NumberFormatException();
                }
                return Long.parseUnsignedLong(digits, 16);
            }
            if (w.startsWith("+") || w.startsWith("-")) {
                throw new NumberFormatException();
            }
            return Long.parseUnsignedLong(w, 10);
        } catch (NumberFormatException e) {
            throw new ParseException(line, name + " '" + word
                    + "' is not an unsigned 64-bit number (decimal, or hex with 0x)");
        }
    }

    /**
     * Parses a whole trace.
     *
     * @param in the text
     * @return its operations
     * @throws ParseException at the first bad line
     * @throws IOException if reading fails
     */
    public static List<Op> parse(Reader in) throws ParseException, IOException {
        BufferedReader r = in instanceof BufferedReader b ? b : new BufferedReader(in);
        List<Op> ops = new ArrayList<>();
        String text;
        int line = 0;
        while ((text = r.readLine()) != null) {
            line++;
            Op op = parseLine(text, line);
            if (op != null) {
                ops.add(op);
            }
        }
        return ops;
    }

    /**
     * Runs one operation.
     *
     * @param engine where
     * @param op what
     * @param scratch a one-element array to use for lengths
     * @return its output line, or null for operations that print nothing
     */
    public static String run(Iotlb engine, Op op, long[] scratch) {
        long[] a = op.args();
        switch (op.code()) {
            case 'I':
                engine.cacheInsert(a[0], a[1], a[2], Access.ofWire((int) a[3]));
                return null;
            case 'R':
                engine.cacheRemove(a[0], a[1]);
                return null;
            case 'F': {
                scratch[0] = a[1];
                long vva = engine.cacheFind(a[0], scratch, Access.ofWire((int) a[2]));
                return "F " + Hex.of(vva) + " " + Hex.of(scratch[0]);
            }
            case 'M':
                return engine.pendingMiss(a[0], Access.ofWire((int) a[1])) ? "M 1" : "M 0";
            case 'P':
                engine.pendingInsert(a[0], Access.ofWire((int) a[1]));
                return null;
            case 'X':
                engine.pendingRemove(a[0], a[1], Access.ofWire((int) a[2]));
                return null;
            case 'C':
                engine.flushAll();
                return null;
            case 'V': {
                scratch[0] = a[1];
                long vva = engine.iovaToVva(a[0], scratch, Access.ofWire((int) a[2]));
                StringBuilder b = new StringBuilder("V ").append(Hex.of(vva)).append(' ').append(Hex.of(scratch[0]));
                IotlbMiss miss;
                while ((miss = engine.pollMiss()) != null) {
                    b.append(" MISS ").append(Hex.of(miss.iova())).append(' ').append(miss.perm().wire());
                }
                return b.toString();
            }
            case 'D':
                engine.disconnectFrontend();
                return null;
            case 'N':
                return "N " + engine.cacheEntries().size() + " " + engine.pendingEntries().size() + " "
                        + engine.freeEntries();
            default:
                throw new IllegalArgumentException("unknown operation " + op);
        }
    }

    /**
     * Runs operations and collects their output lines.
     *
     * @param engine where
     * @param ops what
     * @return the output, one entry per operation that prints something
     */
    public static List<String> runAll(Iotlb engine, List<Op> ops) {
        long[] scratch = new long[1];
        List<String> out = new ArrayList<>();
        for (Op op : ops) {
            String line = run(engine, op, scratch);
            if (line != null) {
                out.add(line);
            }
        }
        return out;
    }
}
