package io.jvhost.log;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasEntry;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.internal.NativeLog;
import io.jvhost.internal.Upcalls;
import io.jvhost.testing.CapturingHandler;
import io.jvhost.testing.SharedEal;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** DPDK's rte_log() into System.Logger (java.util.logging here), with level mapping and filtering. */
class DpdkLogTest {
    private static final int RTE_LOGTYPE_EAL = 0;

    private static List<LogRecord> matching(CapturingHandler h, String text) {
        return h.records().stream().filter(r -> r.getMessage().contains(text)).toList();
    }

    @Test
    void everyDpdkLevelArrivesAtItsJavaLevel() {
        SharedEal.get();
        try (CapturingHandler h = CapturingHandler.install("dpdk")) {
            DpdkLogLevel saved = DpdkLog.level();
            DpdkLog.setLevel(DpdkLogLevel.DEBUG);
            DpdkLog.setLevel("lib.eal", DpdkLogLevel.DEBUG);
            try {
                for (DpdkLogLevel level : DpdkLogLevel.values()) {
                    NativeLog.log(level.value(), RTE_LOGTYPE_EAL, "jvhost-test " + level);
                    List<LogRecord> got = matching(h, "jvhost-test " + level);
                    assertThat(level.toString(), got, hasSize(1));
                    LogRecord r = got.get(0);
                    assertThat(r.getLoggerName(), equalTo("dpdk.lib.eal"));
                    assertThat(r.getMessage(), equalTo("jvhost-test " + level)); // newline stripped
                    Level expected = switch (level.javaLevel()) {
                        case ERROR -> Level.SEVERE;
                        case WARNING -> Level.WARNING;
                        case INFO -> Level.INFO;
                        case DEBUG -> Level.FINE;
                        case TRACE -> Level.FINER;
                        default -> throw new AssertionError(level);
                    };
                    assertThat(level.toString(), r.getLevel(), equalTo(expected));
                }
            } finally {
                DpdkLog.setLevel(saved);
                DpdkLog.setLevel("lib.eal", DpdkLogLevel.INFO);
            }
        }
    }

    @Test
    void hugepageSizesWithoutPagesAreNotWarnedAbout() {
        // EAL 22.11 --in-memory warns about every supported size with no pages (1 GiB on most
        // machines) although it runs on another: not news for a Java application's console
        SharedEal.get();
        try (CapturingHandler h = CapturingHandler.install("dpdk")) {
            NativeLog.log(DpdkLogLevel.WARNING.value(), RTE_LOGTYPE_EAL, "EAL: No free 1048576 kB hugepages reported on node 0");
            NativeLog.log(DpdkLogLevel.NOTICE.value(), RTE_LOGTYPE_EAL, "EAL: No available 1048576 kB hugepages reported");
            NativeLog.log(DpdkLogLevel.WARNING.value(), RTE_LOGTYPE_EAL, "EAL: jvhost-test a real warning");
            assertThat(matching(h, "No free 1048576 kB").get(0).getLevel(), equalTo(Level.FINE));
            assertThat(matching(h, "No available 1048576 kB").get(0).getLevel(), equalTo(Level.FINE));
            assertThat(matching(h, "a real warning").get(0).getLevel(), equalTo(Level.WARNING));
        }
    }

    @Test
    void dpdkDropsWhatItsLevelsFilter() {
        SharedEal.get();
        try (CapturingHandler h = CapturingHandler.install("dpdk")) {
            DpdkLogLevel saved = DpdkLog.level();
            DpdkLog.setLevel(DpdkLogLevel.ERROR);
            try {
                assertThat(DpdkLog.level(), equalTo(DpdkLogLevel.ERROR));
                NativeLog.log(DpdkLogLevel.INFO.value(), RTE_LOGTYPE_EAL, "jvhost-filtered");
                NativeLog.log(DpdkLogLevel.ERROR.value(), RTE_LOGTYPE_EAL, "jvhost-passed");
                assertThat(matching(h, "jvhost-filtered"), empty());
                assertThat(matching(h, "jvhost-passed"), hasSize(1));
            } finally {
                DpdkLog.setLevel(saved);
            }
            DpdkLog.setLevel("lib.eal", DpdkLogLevel.WARNING);
            try {
                assertThat(DpdkLog.types(), hasEntry("lib.eal", DpdkLogLevel.WARNING));
                NativeLog.log(DpdkLogLevel.INFO.value(), RTE_LOGTYPE_EAL, "jvhost-type-filtered");
                assertThat(matching(h, "jvhost-type-filtered"), empty());
            } finally {
                DpdkLog.setLevel("lib.eal", DpdkLogLevel.INFO);
            }
        }
    }

    @Test
    void messagesFromOtherThreadsArePublishedOnThem() throws Exception {
        SharedEal.get();
        try (CapturingHandler h = CapturingHandler.install("dpdk")) {
            AtomicReference<String> thread = new AtomicReference<>();
            Thread t = new Thread(() -> {
                thread.set(Thread.currentThread().getName());
                NativeLog.log(DpdkLogLevel.WARNING.value(), RTE_LOGTYPE_EAL, "jvhost-from-thread");
            }, "jvhost-log-test");
            t.start();
            t.join();
            List<LogRecord> got = matching(h, "jvhost-from-thread");
            assertThat(got, hasSize(1));
            assertThat(got.get(0).getLevel(), equalTo(Level.WARNING));
        }
    }

    @Test
    void aLogHandlerThatThrowsIsReportedWithItsStackTrace() {
        SharedEal.get();
        java.util.logging.Handler throwing = new java.util.logging.Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getMessage().contains("jvhost-throwing-handler")) {
                    throw new IllegalStateException("handler failed on purpose");
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger dpdk = java.util.logging.Logger.getLogger("dpdk");
        java.util.logging.Logger reports = java.util.logging.Logger.getLogger(Upcalls.class.getName());
        try (CapturingHandler upcalls = CapturingHandler.install(Upcalls.class.getName())) {
            dpdk.addHandler(throwing);
            reports.setUseParentHandlers(false); // the expected stack trace stays out of the build's output
            try {
                NativeLog.log(DpdkLogLevel.ERROR.value(), RTE_LOGTYPE_EAL, "jvhost-throwing-handler");
            } finally {
                dpdk.removeHandler(throwing);
                reports.setUseParentHandlers(true);
            }
            List<LogRecord> got = upcalls.records();
            assertThat(got, hasSize(1));
            assertThat(got.get(0).getLevel(), equalTo(Level.SEVERE));
            assertThat(got.get(0).getMessage(), containsString("publishing a DPDK log message"));
            assertThat(got.get(0).getThrown().getMessage(), equalTo("handler failed on purpose"));
        }
    }

    @Test
    void typesListsDpdksLogTypes() {
        SharedEal.get();
        assertThat(DpdkLog.types().keySet(), hasItem("lib.eal"));
        assertThat(NativeLog.typeName(RTE_LOGTYPE_EAL), equalTo("lib.eal"));
        assertThrows(IllegalArgumentException.class, () -> DpdkLog.setLevel("", DpdkLogLevel.INFO));
        assertThrows(NullPointerException.class, () -> DpdkLog.setLevel((DpdkLogLevel) null));
    }
}
