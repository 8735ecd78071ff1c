package io.jvhost.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Java end of DPDK's log stream. Native code calls {@link #publish} for every message, on the
 * thread that logged it (a Java thread, or a DPDK thread attached as a daemon).
 */
public final class NativeLog {
    /** Prefix of the {@link System.Logger} names DPDK messages are published to. */
    public static final String LOGGER_PREFIX = "dpdk.";

    private static final Pattern NO_FREE_HUGEPAGES = Pattern.compile("No (free|available) \\d+ kB hugepages reported");
    private static final Pattern DUMP_LINE = Pattern.compile("id (\\d+): ([^,]+), level is (\\S+)");
    private static final Map<Integer, System.Logger> LOGGERS = new ConcurrentHashMap<>();
    private static volatile Map<Integer, String> typeNames = Map.of();
    private static volatile Capture capture;

    private NativeLog() {
    }

    static native void install();

    public static native int setGlobalLevel(int level);

    public static native int getGlobalLevel();

    public static native int setLevelPattern(String pattern, int level);

    static native int getLevel(int logtype);

    static native byte[] dump();

    /** Logs through DPDK's rte_log(): for tests of the whole route. */
    public static native void log(int level, int logtype, String message);

    /** Installs the stream; called once by the loader. */
    static void start() {
        install();
    }

    /**
     * Messages logged on one thread while a capture is open, for error reports. Their publication
     * to System.Logger is deferred to {@link #close()}: the capturing thread may have its console
     * redirected meanwhile (EAL init), and log handlers write to the console.
     */
    public static final class Capture implements AutoCloseable {
        private final Thread thread;
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private final List<Object[]> deferred = new ArrayList<>();

        private Capture(Thread thread) {
            this.thread = thread;
        }

        /** @return a copy of the lines captured so far */
        public List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        @Override
        public void close() {
            synchronized (NativeLog.class) {
                if (capture == this) {
                    capture = null;
                }
            }
            for (Object[] record : deferred) {
                logger((Integer) record[0]).log((System.Logger.Level) record[1], (String) record[2]);
            }
            deferred.clear();
        }
    }

    /**
     * Starts collecting what DPDK logs on {@code thread} (one capture at a time).
     *
     * @param thread the thread whose messages to keep
     * @return the capture; close it to stop
     */
    public static Capture capture(Thread thread) {
        synchronized (NativeLog.class) {
            Capture c = new Capture(thread);
            capture = c;
            return c;
        }
    }

    // Called from native code; must never throw.
    @SuppressWarnings("unused")
    private static void publish(int level, int logtype, byte[] message) {
        try {
            String text = new String(message, StandardCharsets.UTF_8);
            int end = text.length();
            while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
                end--;
            }
            text = text.substring(0, end);
            Capture c = capture;
            if (c != null && c.thread == Thread.currentThread()) {
                c.lines.add(text);
                c.deferred.add(new Object[] {logtype, javaLevel(level, text), text});
                return;
            }
            logger(logtype).log(javaLevel(level, text), text);
        } catch (Throwable t) {
            // A failing log handler must not unwind into DPDK, nor go unnoticed.
            Upcalls.report("publishing a DPDK log message (level " + level + ", type " + logtype + ")", t);
        }
    }

    /**
     * @param level an {@code RTE_LOG_*} value
     * @return the level DPDK messages of that level are published at: EMERG to ERR at ERROR, WARNING
     *     at WARNING, NOTICE at INFO, INFO at DEBUG, DEBUG (and anything past it) at TRACE. DPDK's
     *     INFO is chatter for a Java application (about 35 VHOST_CONFIG lines per frontend
     *     connection), so it sits a level down, where a logger set to DEBUG finds it.
     */
    public static System.Logger.Level javaLevel(int level) {
        if (level <= 4) {
            return System.Logger.Level.ERROR;
        }
        switch (level) {
            case 5:
                return System.Logger.Level.WARNING;
            case 6:
                return System.Logger.Level.INFO;
            case 7:
                return System.Logger.Level.DEBUG;
            default:
                return System.Logger.Level.TRACE;
        }
    }

    /**
     * The level one message is published at: {@link #javaLevel(int)}, except for DPDK warnings that
     * are not about this process's run. With {@code --in-memory}, EAL 22.11 looks at every hugepage
     * size the kernel supports, mounted or not, and warns "No free 1048576 kB hugepages reported on
     * node 0" (or, at NOTICE, "No available ... reported") for each size with none reserved, although it then runs on another size; when no size
     * has pages, EAL fails and its exception carries the line anyway. No EAL option skips a size.
     *
     * @param level an {@code RTE_LOG_*} value
     * @param text the message
     * @return the level to publish it at
     */
    static System.Logger.Level javaLevel(int level, String text) {
        if ((level == 5 || level == 6) && NO_FREE_HUGEPAGES.matcher(text).find()) {
            return System.Logger.Level.DEBUG;
        }
        return javaLevel(level);
    }

    private static System.Logger logger(int logtype) {
        System.Logger logger = LOGGERS.get(logtype);
        if (logger == null) {
            logger = LOGGERS.computeIfAbsent(logtype,
                    t -> System.getLogger(LOGGER_PREFIX + typeName(t)));
        }
        return logger;
    }

    /**
     * @param logtype a DPDK log type id
     * @return its name, e.g. {@code lib.eal}; {@code type<N>} if DPDK does not know it
     */
    public static String typeName(int logtype) {
        String name = typeNames.get(logtype);
        if (name == null) {
            refreshTypeNames();
            name = typeNames.getOrDefault(logtype, "type" + logtype);
        }
        return name;
    }

    private static synchronized void refreshTypeNames() {
        Map<Integer, String> names = new LinkedHashMap<>();
        for (Map.Entry<Integer, Map.Entry<String, String>> e : parseDump().entrySet()) {
            names.put(e.getKey(), e.getValue().getKey());
        }
        typeNames = Map.copyOf(names);
    }

    private static Map<Integer, Map.Entry<String, String>> parseDump() {
        Map<Integer, Map.Entry<String, String>> result = new LinkedHashMap<>();
        Matcher m = DUMP_LINE.matcher(new String(dump(), StandardCharsets.UTF_8));
        while (m.find()) {
            result.put(Integer.parseInt(m.group(1)), Map.entry(m.group(2).trim(), m.group(3)));
        }
        return result;
    }

    /** @return every registered log type with its current level, an {@code RTE_LOG_*} value */
    public static Map<String, Integer> typeLevels() {
        Map<String, Integer> result = new LinkedHashMap<>();
        for (Map.Entry<Integer, Map.Entry<String, String>> e : parseDump().entrySet()) {
            result.put(e.getValue().getKey(), getLevel(e.getKey()));
        }
        return Collections.unmodifiableMap(result);
    }
}
