package io.jvhost.log;

import io.jvhost.Jvhost;
import io.jvhost.internal.NativeLog;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * DPDK's log, as seen from Java.
 *
 * <p>Once jvhost's native library is loaded, every DPDK log message (EAL, vhost, mempool, ...) is
 * published through {@link System.Logger}, to the logger named {@code "dpdk." + type}, where type is
 * DPDK's log type name ({@code lib.eal}, {@code lib.vhost.config}, {@code pmd.net.virtio.init}...),
 * at the level {@link DpdkLogLevel#javaLevel()} gives. Configure those loggers as usual (for
 * java.util.logging, the parent logger {@code "dpdk"} catches them all).
 *
 * <p>DPDK's INFO is published at DEBUG and its DEBUG at TRACE, so that a frontend's connection
 * costs no console lines at the defaults (jvhost logs one INFO line per device instead, logger
 * {@code io.jvhost.vhost.VhostUserPort}). To see DPDK's account of the vhost-user messages, lower
 * the Java level, e.g. with java.util.logging: {@code dpdk.level = FINE} and
 * {@code java.util.logging.ConsoleHandler.level = FINE} in the file named by
 * {@code -Djava.util.logging.config.file}; {@code jvhost serve --dpdk-log info} does it for the CLI.
 *
 * <p>DPDK filters before Java sees anything: a message is published only if its level is at or
 * below both DPDK's global level ({@link #setLevel(DpdkLogLevel)}) and its type's level
 * ({@link #setLevel(String, DpdkLogLevel)}). The EAL option {@code --log-level} sets the same.
 */
public final class DpdkLog {
    /** Prefix of the {@link System.Logger} names DPDK messages are published to. */
    public static final String LOGGER_PREFIX = NativeLog.LOGGER_PREFIX;

    private DpdkLog() {
    }

    /**
     * Sets DPDK's global log level ({@code rte_log_set_global_level}).
     *
     * @param level messages above it are dropped in DPDK, before they reach Java
     */
    public static void setLevel(DpdkLogLevel level) {
        Objects.requireNonNull(level, "level");
        Jvhost.loadNativeLibrary();
        NativeLog.setGlobalLevel(level.value());
    }

    /** @return DPDK's global log level */
    public static DpdkLogLevel level() {
        Jvhost.loadNativeLibrary();
        return DpdkLogLevel.of(NativeLog.getGlobalLevel());
    }

    /**
     * Sets the level of every log type matching a glob pattern ({@code rte_log_set_level_pattern}),
     * e.g. {@code "lib.vhost.*"}. Types registered later that match get it too.
     *
     * @param pattern a shell glob over DPDK log type names
     * @param level the level for those types
     * @throws IllegalArgumentException if DPDK refuses the pattern
     */
    public static void setLevel(String pattern, DpdkLogLevel level) {
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(level, "level");
        if (pattern.isEmpty()) {
            throw new IllegalArgumentException("empty log type pattern");
        }
        Jvhost.loadNativeLibrary();
        if (NativeLog.setLevelPattern(pattern, level.value()) != 0) {
            throw new IllegalArgumentException("DPDK refused log type pattern '" + pattern + "'");
        }
    }

    /** @return every log type DPDK knows now, by name, with its level */
    public static Map<String, DpdkLogLevel> types() {
        Jvhost.loadNativeLibrary();
        Map<String, DpdkLogLevel> result = new LinkedHashMap<>();
        NativeLog.typeLevels().forEach((type, level) -> result.put(type, DpdkLogLevel.of(level)));
        return Collections.unmodifiableMap(result);
    }
}
