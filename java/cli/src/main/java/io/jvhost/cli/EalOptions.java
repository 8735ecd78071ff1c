package io.jvhost.cli;

import io.jvhost.eal.EalConfig;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** EAL options shared by the commands that start EAL; raw EAL arguments follow {@code --}. */
final class EalOptions {
    /** Held: java.util.logging keeps loggers weakly, and a collected one forgets its level. */
    private static final List<Logger> CONFIGURED = new ArrayList<>();

    @Option(names = "--hugepages", description = "use hugepages (--in-memory --single-file-segments) instead of --no-huge")
    boolean hugepages;

    @Option(names = "--memory", paramLabel = "MiB", description = "EAL memory, -m (default: ${DEFAULT-VALUE})")
    int memoryMb = EalConfig.DEFAULT_MEMORY_MB;

    @Option(names = "--dpdk-log", paramLabel = "[TYPES:]LEVEL", description = "show DPDK's own log down to LEVEL"
            + " (error, warning, notice, info or debug), for every log type or for those matching the glob TYPES,"
            + " e.g. info or lib.vhost.*:debug; also shows jvhost's per-device lines (default: warnings and errors)")
    String dpdkLog;

    @Parameters(paramLabel = "EAL-ARGS", description = "EAL arguments after --, passed verbatim")
    List<String> ealArgs = new ArrayList<>();

    /**
     * The CLI's default: jvhost's per-device INFO lines stay off, since the commands print their
     * own account of frontends on standard output.
     */
    static void quietDefaults() {
        Logger vhost = Logger.getLogger("io.jvhost.vhost");
        vhost.setLevel(Level.WARNING);
        CONFIGURED.add(vhost);
    }

    EalConfig toConfig() {
        if (memoryMb <= 0) {
            throw new IllegalArgumentException("--memory must be positive: " + memoryMb);
        }
        if (dpdkLog != null) {
            applyDpdkLog(dpdkLog);
        }
        return EalConfig.builder().hugepages(hugepages).memoryMb(memoryMb).extraArgs(ealArgs).build();
    }

    /**
     * Sets DPDK's levels and lets what they pass reach the console: DPDK's INFO is published at
     * DEBUG (java.util.logging's FINE), below the console's default INFO.
     */
    static void applyDpdkLog(String spec) {
        int colon = spec.lastIndexOf(':');
        String types = colon < 0 ? null : spec.substring(0, colon);
        DpdkLogLevel level = parseLevel(spec.substring(colon + 1));
        if (types != null) {
            // the global level filters first: open it, and keep every other type at warnings
            DpdkLog.setLevel("*", DpdkLogLevel.WARNING);
            DpdkLog.setLevel(types, level);
            DpdkLog.setLevel(DpdkLogLevel.of(Math.max(level.value(), DpdkLogLevel.WARNING.value())));
        } else {
            DpdkLog.setLevel(level);
            DpdkLog.setLevel("*", level);
        }
        Level jul = switch (level.javaLevel()) {
            case ERROR -> Level.SEVERE;
            case WARNING -> Level.WARNING;
            case INFO -> Level.INFO;
            case DEBUG -> Level.FINE;
            default -> Level.FINER;
        };
        Logger dpdk = Logger.getLogger("dpdk");
        dpdk.setLevel(jul.intValue() < Level.INFO.intValue() ? jul : Level.INFO);
        CONFIGURED.add(dpdk);
        for (String name : new String[] {"io.jvhost", "io.jvhost.vhost"}) { // jvhost's INFO lines, not its debugging
            Logger logger = Logger.getLogger(name);
            logger.setLevel(Level.INFO);
            CONFIGURED.add(logger);
        }
        for (Handler h : Logger.getLogger("").getHandlers()) {
            if (h instanceof ConsoleHandler && h.getLevel().intValue() > jul.intValue()) {
                h.setLevel(jul);
            }
        }
    }

    private static DpdkLogLevel parseLevel(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "error", "err" -> DpdkLogLevel.ERROR;
            case "warning", "warn" -> DpdkLogLevel.WARNING;
            case "notice" -> DpdkLogLevel.NOTICE;
            case "info" -> DpdkLogLevel.INFO;
            case "debug" -> DpdkLogLevel.DEBUG;
            default -> throw new IllegalArgumentException("--dpdk-log: unknown level '" + name
                    + "': use error, warning, notice, info or debug, optionally after TYPES: (e.g. lib.vhost.*:debug)");
        };
    }
}
