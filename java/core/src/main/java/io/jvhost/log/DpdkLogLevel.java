package io.jvhost.log;

/** DPDK's log levels ({@code RTE_LOG_*}), with the {@link System.Logger.Level} each is published at. */
public enum DpdkLogLevel {
    /** RTE_LOG_EMERG (1). */
    EMERGENCY(1, System.Logger.Level.ERROR),
    /** RTE_LOG_ALERT (2). */
    ALERT(2, System.Logger.Level.ERROR),
    /** RTE_LOG_CRIT (3). */
    CRITICAL(3, System.Logger.Level.ERROR),
    /** RTE_LOG_ERR (4). */
    ERROR(4, System.Logger.Level.ERROR),
    /** RTE_LOG_WARNING (5). */
    WARNING(5, System.Logger.Level.WARNING),
    /** RTE_LOG_NOTICE (6). */
    NOTICE(6, System.Logger.Level.INFO),
    /** RTE_LOG_INFO (7). */
    INFO(7, System.Logger.Level.INFO),
    /** RTE_LOG_DEBUG (8). */
    DEBUG(8, System.Logger.Level.DEBUG);

    private static final DpdkLogLevel[] BY_VALUE = new DpdkLogLevel[9];

    static {
        for (DpdkLogLevel l : values()) {
            BY_VALUE[l.value] = l;
        }
    }

    private final int value;
    private final System.Logger.Level javaLevel;

    DpdkLogLevel(int value, System.Logger.Level javaLevel) {
        this.value = value;
        this.javaLevel = javaLevel;
    }

    /** @return DPDK's numeric value, {@code RTE_LOG_*} */
    public int value() {
        return value;
    }

    /** @return the level DPDK messages of this level are published at */
    public System.Logger.Level javaLevel() {
        return javaLevel;
    }

    /**
     * @param value an {@code RTE_LOG_*} value
     * @return its level; values past DEBUG count as DEBUG, values below EMERGENCY as EMERGENCY
     */
    public static DpdkLogLevel of(int value) {
        if (value <= 1) {
            return EMERGENCY;
        }
        return value >= 8 ? DEBUG : BY_VALUE[value];
    }
}
