package io.jvhost.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects java.util.logging records published under a logger name, for assertions. */
public final class CapturingHandler extends Handler implements AutoCloseable {
    private final Logger logger;
    private final Level previousLevel;
    private final List<LogRecord> records = new ArrayList<>();

    private CapturingHandler(Logger logger, Level minimum) {
        this.logger = logger;
        this.previousLevel = logger.getLevel();
        setLevel(minimum);
    }

    /**
     * @param loggerName where to listen, e.g. "dpdk"
     * @return the handler, installed; close it to remove it
     */
    public static CapturingHandler install(String loggerName) {
        Logger logger = Logger.getLogger(loggerName);
        CapturingHandler h = new CapturingHandler(logger, Level.ALL);
        logger.setLevel(Level.ALL);
        logger.addHandler(h);
        return h;
    }

    /**
     * Collects only records at {@code minimum} and above, leaving the logger's level as it is (a
     * long test that wants DPDK's warnings without turning on its per-message chatter).
     *
     * @param loggerName where to listen, e.g. "dpdk"
     * @param minimum the lowest level collected
     * @return the handler, installed; close it to remove it
     */
    public static CapturingHandler install(String loggerName, Level minimum) {
        Logger logger = Logger.getLogger(loggerName);
        CapturingHandler h = new CapturingHandler(logger, minimum);
        logger.addHandler(h);
        return h;
    }

    @Override
    public synchronized void publish(LogRecord record) {
        records.add(record);
    }

    /** @return a copy of the records so far */
    public synchronized List<LogRecord> records() {
        return new ArrayList<>(records);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(previousLevel);
    }
}
