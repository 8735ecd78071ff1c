package io.jvhost.eal;

import java.util.List;

/** Checks EAL arguments for what DPDK would answer with exit() or a crash instead of an error. */
final class EalArguments {
    private EalArguments() {
    }

    static void check(List<String> args) {
        boolean noHuge = args.contains("--no-huge");
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-h") || a.equals("--help")) {
                throw new IllegalArgumentException("EAL argument '" + a
                        + "' makes DPDK print its usage and exit the process; see 'dpdk-testpmd --help' for EAL's options");
            }
            if (a.equals("-d") || (a.startsWith("-d") && !a.startsWith("--")) || a.startsWith("--driver-path")) {
                throw new IllegalArgumentException("EAL argument '" + a
                        + "' loads shared DPDK drivers, which cannot work with jvhost's statically linked DPDK");
            }
            String memory = null;
            if (a.equals("-m") && i + 1 < args.size()) {
                memory = args.get(i + 1);
            } else if (a.startsWith("-m") && !a.startsWith("--") && a.length() > 2) {
                memory = a.substring(2);
            }
            if (memory != null && noHuge) {
                checkNoHugeMemory(memory);
            }
        }
    }

    // DPDK 22.11 maps and populates all of --no-huge memory in rte_eal_init; a size beyond what the
    // machine has was seen to take the JVM down (SIGSEGV in eal_memseg_list_populate).
    private static void checkNoHugeMemory(String value) {
        long mb;
        try {
            mb = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return; // DPDK rejects it with its own message
        }
        long availableKb = Eal.meminfo("MemAvailable:");
        if (mb <= 0) {
            throw new IllegalArgumentException("EAL memory (-m) must be positive: " + value);
        }
        if (availableKb > 0 && mb * 1024 > availableKb) {
            throw new IllegalArgumentException("EAL memory -m " + mb + " MiB with --no-huge is more than the "
                    + (availableKb / 1024) + " MiB this machine has available");
        }
    }
}
