package io.jvhost.cli;

import io.jvhost.Jvhost;
import io.jvhost.MemoryAccess;
import io.jvhost.eal.Eal;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jvhost doctor}: what this machine has and needs, and what to do about each problem. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check this machine for jvhost: the JDK (native access, memory access), DPDK, hugepages, the socket directory, CPUs, locked memory.")
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--socket-dir", paramLabel = "DIR", description = "where vhost-user sockets will live (default: ${DEFAULT-VALUE})")
    Path socketDir = Path.of(System.getProperty("java.io.tmpdir"));

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private int problems;
    private PrintWriter out;

    @Override
    public Integer call() {
        out = spec.commandLine().getOut();
        out.println("jvhost " + Jvhost.version() + " on Java " + System.getProperty("java.version") + ", "
                + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        checkJava();
        checkNative();
        checkCpus();
        checkMemory();
        checkHugepages();
        checkSocketDir();
        checkTestpmd();
        out.println(problems == 0 ? "all good" : problems + " problem(s) found");
        out.flush();
        return problems == 0 ? 0 : 1;
    }

    private void ok(String what) {
        out.println("  ok    " + what);
    }

    private void note(String what) {
        out.println("  note  " + what);
    }

    private void problem(String what, String fix) {
        problems++;
        out.println("  FAIL  " + what);
        out.println("        -> " + fix);
    }

    private void checkNative() {
        if (!Jvhost.isAvailable()) {
            String why = Jvhost.unavailabilityCause().getMessage();
            problem("native library: " + why, why.contains("native access is denied")
                    ? "start java with --enable-native-access=" + nativeAccessTarget()
                    : "run scripts/setup.sh (installs libnuma1, libbsd0) or rebuild");
            return;
        }
        String v = Jvhost.dpdkVersion();
        if (v.startsWith("DPDK 22.11")) {
            ok("native library loads; " + v + " linked in");
        } else {
            problem("native library has " + v, "rebuild jvhost against DPDK 22.11 (scripts/setup.sh, mvn package)");
        }
        // asked only once the library loaded: where native access is denied, FFM is too, and the
        // Unsafe fallback would print the JDK's deprecation warning for nothing
        MemoryAccess access = Jvhost.memoryAccess();
        String note = Jvhost.memoryAccessNote();
        if (access == MemoryAccess.FFM) {
            ok("packet memory through FFM (java.lang.foreign)");
        } else if (Runtime.version().feature() >= 22) {
            problem("packet memory through sun.misc.Unsafe on Java " + Runtime.version().feature() + ": " + note,
                    "use a jvhost jar built with a JDK 22+ present (see the README's Build section)");
        } else {
            ok("packet memory through sun.misc.Unsafe: " + note);
        }
    }

    /** The JDK running this: version, vendor, where; and whether it lets jvhost call native code. */
    private void checkJava() {
        ok("Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ") at " + System.getProperty("java.home"));
        int feature = Runtime.version().feature();
        if (feature < 22) {
            ok("native access: Java " + feature + " does not restrict JNI (JEP 472 is Java 24's)");
            return;
        }
        Boolean enabled = nativeAccessEnabled();
        String target = nativeAccessTarget();
        if (Boolean.TRUE.equals(enabled)) {
            ok("native access enabled for " + target);
        } else {
            note("native access not enabled for " + target + ": Java " + feature + " warns when jvhost"
                    + " starts using native code" + (feature >= 24 ? " (and fails with --illegal-native-access=deny)" : "")
                    + "; add --enable-native-access=" + target);
        }
    }

    /** @return what --enable-native-access must name for jvhost: its module, or ALL-UNNAMED */
    private static String nativeAccessTarget() {
        Module m = Jvhost.class.getModule();
        return m.isNamed() ? m.getName() : "ALL-UNNAMED";
    }

    /** @return Module.isNativeAccessEnabled() of jvhost's module (Java 22+), or null if unknown */
    private static Boolean nativeAccessEnabled() {
        try {
            return (Boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(Jvhost.class.getModule());
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private void checkCpus() {
        // without the native library, the JVM's count (affinity, and cgroup quotas) is the best guess
        int cpus = Jvhost.isAvailable() ? Eal.currentThreadCpus().length : Runtime.getRuntime().availableProcessors();
        if (cpus >= 2) {
            ok(cpus + " CPUs usable by this process");
        } else {
            problem("only " + cpus + " CPU usable", "a busy-polling data path and its frontend need 2 CPUs; widen the"
                    + " CPU affinity (taskset, cgroup cpuset)");
        }
    }

    private void checkMemory() {
        long lockedKb = limitKb("Max locked memory");
        if (lockedKb < 0 || lockedKb >= 64 * 1024) {
            ok("locked memory limit: " + (lockedKb < 0 ? "unlimited" : lockedKb / 1024 + " MiB"));
        } else {
            note("locked memory limit is " + lockedKb + " KiB: enough for --no-huge; VFIO devices would need"
                    + " 'ulimit -l unlimited'");
        }
    }

    private static long limitKb(String name) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/limits"))) {
            return lines.filter(l -> l.startsWith(name)).map(l -> l.substring(name.length()).trim().split("\\s+")[0])
                    .map(v -> v.equals("unlimited") ? -1L : Long.parseLong(v) / 1024).findFirst().orElse(-1L);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private void checkHugepages() {
        long free = meminfo("HugePages_Free:");
        long size = meminfo("Hugepagesize:");
        boolean mounted;
        try {
            mounted = Files.readAllLines(Path.of("/proc/mounts")).stream().anyMatch(l -> l.split(" ").length > 2
                    && l.split(" ")[2].equals("hugetlbfs"));
        } catch (IOException e) {
            mounted = false;
        }
        if (free > 0 && mounted) {
            ok(free + " free hugepages of " + size + " KiB, hugetlbfs mounted (use --hugepages)");
        } else {
            note("no usable hugepages (" + Math.max(free, 0) + " free, hugetlbfs " + (mounted ? "" : "not ") + "mounted):"
                    + " jvhost runs with --no-huge (the default); for speed: sudo scripts/setup.sh --hugepages 256");
        }
    }

    private static long meminfo(String key) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith(key)).map(l -> l.substring(key.length()).trim().split("\\s+")[0])
                    .mapToLong(Long::parseLong).findFirst().orElse(-1);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private void checkSocketDir() {
        if (!Files.isDirectory(socketDir)) {
            problem("socket directory " + socketDir + " does not exist", "mkdir -p " + socketDir);
        } else if (!Files.isWritable(socketDir)) {
            problem("socket directory " + socketDir + " is not writable", "chmod or choose another with --socket-dir");
        } else if (socketDir.toAbsolutePath().toString().length() > 90) {
            problem("socket directory path is long: socket paths must fit 107 bytes", "use a shorter directory");
        } else {
            ok("socket directory " + socketDir + " is writable");
        }
        String runtime = "root".equals(System.getProperty("user.name")) ? "/var/run/dpdk" : System.getenv("XDG_RUNTIME_DIR");
        if (runtime == null) {
            note("not root and no XDG_RUNTIME_DIR: DPDK keeps its runtime files in /tmp/dpdk");
        }
    }

    private void checkTestpmd() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, "dpdk-testpmd"))) {
                ok("dpdk-testpmd found in " + dir + " (a frontend to try 'jvhost serve' with)");
                return;
            }
        }
        note("dpdk-testpmd not found: apt-get install dpdk (only needed to try serve with DPDK's virtio-user)");
    }
}
