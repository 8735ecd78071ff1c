package io.jvhost.log;

import io.jvhost.internal.NativeLog;

/** DPDK's log levels ({@code RTE_LOG_*}), with the {@link System.Logger.Level} each is published at. */
public enum DpdkLogLevel {
    /** RTE_LOG_EMERG (1), published at ERROR. */
    EMERGENCY(1),
    /** RTE_LOG_ALERT (2), published at ERROR. */
    ALERT(2),
    /** RTE_LOG_CRIT (3), published at ERROR. */
    CRITICAL(3),
    /** RTE_LOG_ERR (4), published at ERROR. */
    ERROR(4),
    /** RTE_LOG_WARNING (5), published at WARNING. */
    WARNING(5),
    /** RTE_LOG_NOTICE (6), published at INFO. */
    NOTICE(6),
    /** RTE_LOG_INFO (7), published at DEBUG: routine chatter, such as the vhost-user message trace. */
    INFO(7),
    /** RTE_LOG_DEBUG (8), published at TRACE. */
    DEBUG(8);

    private static final DpdkLogLevel[] BY_VALUE = new DpdkLogLevel[9];

    static {
        for (DpdkLogLevel l : values()) {
            BY_VALUE[l.value] = l;
        }
    }

    private final int value;

    DpdkLogLevel(int value) {
        this.value = value;
    }

    /** @return DPDK's numeric value, {@code RTE_LOG_*} */
    public int value() {
        return value;
    }

    /** @return the level DPDK messages of this level are published at */
    public System.Logger.Level javaLevel() {
        return NativeLog.javaLevel(value);
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
