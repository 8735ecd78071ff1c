package io.jvhost.eal;

import io.jvhost.testing.CapturingHandler;
import java.util.List;
import java.util.logging.LogRecord;

/**
 * Runs one EAL scenario in a forked JVM (EAL starts once per process). Prints what happened and
 * exits 0 when every step did what the scenario expects of it, 3 on an unexpected outcome. A crash
 * or exit() from inside DPDK shows as any other exit code, which the tests catch.
 */
public final class EalProbe {
    private EalProbe() {
    }

    public static void main(String[] args) {
        String scenario = args[0];
        try {
            switch (scenario) {
                case "bad-option" -> expectEalException(() -> Eal.start(EalConfig.builder().extraArgs("--no-such-option").build()));
                case "bad-lcores" -> expectEalException(() -> Eal.start(EalConfig.builder().lcores("0@(4000)").build()));
                case "bad-then-good" -> {
                    expectEalException(() -> Eal.start(EalConfig.builder().extraArgs("--no-such-option").build()));
                    expectEalException(Eal::start);
                }
                case "double-start" -> {
                    try (Eal eal = Eal.start()) {
                        expectEalException(Eal::start);
                        System.out.println("FIRST STILL OPEN: " + eal.isOpen() + " lcores=" + eal.lcoreCount());
                    }
                }
                case "start-after-close" -> {
                    Eal.start().close();
                    expectEalException(Eal::start);
                    expectIllegalState(Eal::require);
                }
                case "huge-memory" -> expectIllegalArgument(() ->
                        Eal.start(EalConfig.raw(List.of("--no-huge", "-m", "500000", "--no-pci",
                                "--file-prefix=jvhost-probe-" + ProcessHandle.current().pid()))));
                case "help" -> {
                    expectIllegalArgument(() -> Eal.start(EalConfig.builder().extraArgs("--help").build()));
                    expectIllegalArgument(() -> Eal.start(EalConfig.raw(List.of("-h"))));
                    expectIllegalArgument(() -> Eal.start(EalConfig.builder().extraArgs("-d", "/tmp/x.so").build()));
                }
                case "use-after-close" -> {
                    Eal eal = Eal.start();
                    eal.close();
                    eal.close(); // idempotent
                    expectIllegalState(eal::registerThread);
                    expectIllegalState(eal::lcoreCount);
                    expectIllegalState(() -> eal.own(() -> { }));
                }
                case "init-logs" -> {
                    try (CapturingHandler h = CapturingHandler.install("dpdk")) {
                        try (Eal eal = Eal.start()) {
                            for (LogRecord r : h.records()) {
                                System.out.println("LOGRECORD " + r.getLoggerName() + " " + r.getLevel() + " " + r.getMessage());
                            }
                        }
                    }
                }
                case "raw" -> {
                    try (Eal eal = Eal.start(EalConfig.raw(List.of("-l", "0", "--no-huge", "-m", "64", "--no-pci",
                            "--file-prefix=jvhost-raw-" + ProcessHandle.current().pid())))) {
                        System.out.println("STARTED raw " + eal.arguments() + " lcores=" + eal.lcoreCount());
                    }
                }
                case "hugepages" -> {
                    long before = Eal.hugepagesFree();
                    try (Eal eal = Eal.start(EalConfig.builder().hugepages(true).memoryMb(64).build())) {
                        System.out.println("STARTED hugepages " + eal.arguments() + " free during=" + Eal.hugepagesFree()
                                + " before=" + before);
                    }
                    System.out.println("FREE AFTER " + Eal.hugepagesFree());
                }
                default -> throw new IllegalArgumentException("unknown scenario " + scenario);
            }
            System.out.println("PROBE DONE");
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("UNEXPECTED " + t);
            t.printStackTrace(System.out);
            System.exit(3);
        }
    }

    private static void expectEalException(Runnable r) {
        try {
            r.run();
        } catch (EalException e) {
            System.out.println("EALEXCEPTION errno=" + e.errno() + " message=" + e.getMessage().replace('\n', '|'));
            return;
        }
        throw new AssertionError("no EalException");
    }

    private static void expectIllegalArgument(Runnable r) {
        try {
            r.run();
        } catch (IllegalArgumentException e) {
            System.out.println("ILLEGALARGUMENT " + e.getMessage());
            return;
        }
        throw new AssertionError("no IllegalArgumentException");
    }

    private static void expectIllegalState(Runnable r) {
        try {
            r.run();
        } catch (IllegalStateException e) {
            System.out.println("ILLEGALSTATE " + e.getMessage());
            return;
        }
        throw new AssertionError("no IllegalStateException");
    }
}
