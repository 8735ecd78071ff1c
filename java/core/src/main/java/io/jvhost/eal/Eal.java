package io.jvhost.eal;

import io.jvhost.Jvhost;
import io.jvhost.internal.EalInitResult;
import io.jvhost.internal.EalOwnership;
import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MempoolHandle;
import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * DPDK's Environment Abstraction Layer, started from Java. EAL runs at most once per process: start
 * it with {@link #start(EalConfig)}, keep the returned handle, and {@link #close()} it when done
 * ({@code rte_eal_cleanup}). DPDK cannot start EAL again in the same process after that.
 *
 * <pre>{@code
 * try (Eal eal = Eal.start(EalConfig.defaults())) {
 *     ... vhost ports, mempools ...
 * }
 * }</pre>
 *
 * <p>{@code rte_eal_init} runs on a dedicated thread, because it pins the thread that calls it to
 * the main lcore's CPUs; the calling thread and the JVM's other threads keep their CPU affinity.
 *
 * <p>Failures never crash the JVM or exit the process: bad arguments, a second start, a start after
 * close all throw {@link EalException} with DPDK's rte_errno, its message and the lines EAL
 * logged. Arguments that would make DPDK itself exit the process ({@code -h}, {@code --help}),
 * load shared drivers into jvhost's static DPDK ({@code -d}) or crash the JVM (a {@code --no-huge}
 * memory size beyond available memory) are refused with {@link IllegalArgumentException} before
 * DPDK sees them.
 *
 * <p>Resources made on top of EAL (ports, mempools) are {@linkplain #own(AutoCloseable) owned} by it:
 * {@link #close()} closes those still open, newest first, before cleaning up EAL.
 *
 * <p>Threads: every method is thread-safe. Threads that call DPDK's data path may
 * {@linkplain #registerThread() register} with DPDK for an lcore id; registration is explicit, and
 * released automatically when the thread ends.
 */
public final class Eal implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Eal.class.getName());
    private static final String PROGRAM_NAME = "jvhost";

    // Guarded by Eal.class.
    private static Eal current;
    private static boolean cleanedUp;
    private static boolean failedBefore;

    private final List<String> arguments;
    private final Path runtimeDir;
    /** What EAL closes before cleanup, newest first; jvhost's own resources cannot be disowned by the public disown. */
    private final Deque<Owned> owned = new ArrayDeque<>();

    private record Owned(AutoCloseable resource, boolean byApplication) {
    }

    static {
        EalOwnership.register(new EalOwnership.Owner() {
            @Override
            public void own(Object eal, AutoCloseable resource) {
                ((Eal) eal).take(resource, false);
            }

            @Override
            public void disown(Object eal, AutoCloseable resource) {
                ((Eal) eal).release(resource, false);
            }
        });
    }
    private volatile boolean open = true;
    private boolean closing; // guarded by owned: a resource that closes EAL from its close() ends here

    private Eal(List<String> arguments, Path runtimeDir) {
        this.arguments = arguments;
        this.runtimeDir = runtimeDir;
    }

    /**
     * Starts EAL with the {@linkplain EalConfig defaults}.
     *
     * @return the running EAL
     * @throws EalException if DPDK refuses
     */
    public static Eal start() {
        return start(EalConfig.defaults());
    }

    /**
     * Starts EAL.
     *
     * @param config how
     * @return the running EAL
     * @throws IllegalArgumentException for arguments refused before DPDK sees them (see above)
     * @throws EalException if DPDK refuses, including when EAL already runs or ran in this process
     */
    public static Eal start(EalConfig config) {
        Objects.requireNonNull(config, "config");
        Jvhost.loadNativeLibrary();
        synchronized (Eal.class) {
            List<String> args = config.toArgs(NativeEal.affinity());
            EalArguments.check(args);
            List<String> argv = new ArrayList<>(args.size() + 1);
            argv.add(PROGRAM_NAME);
            argv.addAll(args);

            InitResult result = initOnDedicatedThread(argv);
            if (result.rc() < 0) {
                int errno = -result.rc();
                String summary;
                if (current != null) {
                    summary = "EAL already runs in this process (started with " + current.arguments
                            + "); use Eal.current()";
                } else if (cleanedUp) {
                    summary = "EAL was started and closed before in this process, and DPDK cannot start it again";
                } else {
                    summary = "DPDK refused to start EAL with " + args;
                }
                if (failedBefore) {
                    summary += " (an earlier start in this process was refused, and DPDK 22.11 keeps"
                            + " option state from it: start EAL in a fresh process)";
                }
                // DPDK parsed the options only if EAL was never started: only then it keeps their state
                failedBefore |= current == null && !cleanedUp;
                throw new EalException(summary, errno, NativeEal.strerror(errno), result.report());
            }
            // Nothing EAL printed is lost: a successful start passes it on to the console.
            byte[] printed = result.init.stdout();
            if (printed != null) {
                System.out.write(printed, 0, printed.length);
                System.out.flush();
            }
            printed = result.init.stderr();
            if (printed != null) {
                System.err.write(printed, 0, printed.length);
                System.err.flush();
            }
            Eal eal = new Eal(List.copyOf(args), runtimeDirOf(args));
            current = eal;
            LOG.log(System.Logger.Level.DEBUG, "EAL started with {0}", args);
            return eal;
        }
    }

    private static final class InitResult {
        EalInitResult init = new EalInitResult(-1, null, null);
        List<String> log = List.of();

        int rc() {
            return init.result();
        }

        /** EAL's own lines for an error report: its log, then what it printed, without its usage text. */
        List<String> report() {
            List<String> lines = new ArrayList<>();
            for (byte[] printed : new byte[][] {init.stderr(), init.stdout()}) {
                if (printed == null) {
                    continue;
                }
                for (String line : new String(printed, StandardCharsets.UTF_8).split("\n")) {
                    if (line.startsWith("Usage:")) {
                        break;
                    }
                    // getopt runs twice over the same argv in EAL: its complaints come twice
                    if (!line.isBlank() && !line.startsWith("EAL: FATAL:") && !lines.contains(line)) {
                        lines.add(line);
                    }
                }
            }
            lines.addAll(log);
            return lines;
        }
    }

    private static InitResult initOnDedicatedThread(List<String> argv) {
        InitResult result = new InitResult();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            NativeLog.Capture capture = NativeLog.capture(Thread.currentThread());
            try {
                result.init = NativeEal.init(argv.toArray(new String[0]));
                result.log = capture.lines();
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                capture.close(); // publishes EAL's messages, now that the console is back
            }
        }, "jvhost-eal-init");
        thread.setDaemon(true);
        thread.start();
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // EAL init cannot be abandoned half way
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure.get() != null) {
            throw new EalException("EAL init failed in jvhost: " + failure.get(), 0, "", List.of());
        }
        return result;
    }

    /** @return the running EAL, if any */
    public static Optional<Eal> current() {
        synchronized (Eal.class) {
            return Optional.ofNullable(current);
        }
    }

    /**
     * @return the running EAL
     * @throws IllegalStateException if EAL is not running
     */
    public static Eal require() {
        synchronized (Eal.class) {
            if (current == null) {
                throw new IllegalStateException(cleanedUp
                        ? "EAL was closed; DPDK cannot start it again in this process"
                        : "EAL is not running: call Eal.start() first");
            }
            return current;
        }
    }

    /** @return whether this EAL is still running */
    public boolean isOpen() {
        return open;
    }

    /** @return the arguments EAL was started with, without argv[0] */
    public List<String> arguments() {
        return arguments;
    }

    /** @return DPDK's version string, e.g. "DPDK 22.11.11" */
    public String dpdkVersion() {
        return NativeEal.dpdkVersion();
    }

    /** @return the number of lcores EAL knows (rte_lcore_count), registered threads included */
    public int lcoreCount() {
        synchronized (Eal.class) {
            ensureOpen();
            return NativeEal.lcoreCount();
        }
    }

    /** @return the main lcore's id */
    public int mainLcore() {
        synchronized (Eal.class) {
            ensureOpen();
            return NativeEal.mainLcore();
        }
    }

    /**
     * @return the calling thread's lcore id, empty if it has none
     */
    public static Optional<Integer> currentLcore() {
        Jvhost.loadNativeLibrary();
        int id = NativeEal.lcoreId();
        return id < 0 ? Optional.empty() : Optional.of(id);
    }

    /**
     * Pins the calling thread to CPUs ({@code sched_setaffinity}), as DPDK pins an lcore: for a
     * busy-polling data-path thread, so that the JVM's other threads (JIT, GC, DPDK's vhost-events
     * thread) do not share its CPU unless the scheduler has nowhere else to put them. Only this
     * thread changes; threads it starts later inherit the set.
     *
     * @param cpus CPU numbers, at least one
     * @throws IllegalArgumentException if the list is empty, or names no CPU this process may use
     *     (see {@code taskset}, cgroup cpusets), or a CPU number outside 0..1023
     */
    public static void pinCurrentThread(int... cpus) {
        Jvhost.loadNativeLibrary();
        if (cpus.length == 0) {
            throw new IllegalArgumentException("no CPU to pin to");
        }
        int rc = NativeEal.setAffinity(cpus.clone());
        if (rc != 0) {
            throw new IllegalArgumentException("cannot pin thread '" + Thread.currentThread().getName() + "' to CPUs "
                    + java.util.Arrays.toString(cpus) + ": " + NativeEal.strerror(-rc));
        }
    }

    /**
     * @return the CPUs the calling thread may run on ({@code sched_getaffinity}), ascending: what
     *     {@code taskset} and cgroup cpusets leave it, or what {@link #pinCurrentThread} set
     * @throws io.jvhost.NativeLibraryLoadError if the native library cannot be loaded
     */
    public static int[] currentThreadCpus() {
        Jvhost.loadNativeLibrary();
        return NativeEal.affinity();
    }

    /**
     * Registers the calling thread with DPDK ({@code rte_thread_register}), giving it an lcore id.
     *
     * @return the registration; close it on this thread to release the lcore
     * @throws IllegalStateException if EAL is closed or the thread already has an lcore
     * @throws EalException if DPDK refuses (e.g. no lcore id left: RTE_MAX_LCORE)
     */
    public LcoreRegistration registerThread() {
        synchronized (Eal.class) {
            ensureOpen();
            int existing = NativeEal.lcoreId();
            if (existing >= 0) {
                throw new IllegalStateException("thread '" + Thread.currentThread().getName()
                        + "' already has lcore " + existing);
            }
            int rc;
            List<String> log;
            try (NativeLog.Capture capture = NativeLog.capture(Thread.currentThread())) {
                rc = NativeEal.threadRegister();
                log = capture.lines();
            }
            if (rc < 0) {
                throw new EalException("DPDK could not register thread '" + Thread.currentThread().getName() + "'",
                        -rc, NativeEal.strerror(-rc), log);
            }
            return new LcoreRegistration(this, Thread.currentThread(), rc);
        }
    }

    /**
     * Makes this EAL the owner of a resource built on it: {@link #close()} closes it first.
     *
     * @param resource the resource
     * @param <T> its type
     * @return the resource
     * @throws IllegalStateException if EAL is closed
     * @throws IllegalArgumentException for an Eal: it cannot own itself
     */
    public <T extends AutoCloseable> T own(T resource) {
        Objects.requireNonNull(resource, "resource");
        if (resource instanceof Eal) {
            throw new IllegalArgumentException("an Eal cannot be owned by EAL");
        }
        take(resource, true);
        return resource;
    }

    /**
     * Ends the ownership taken by {@link #own}. Only what the application itself gave to
     * {@link #own} can be disowned: jvhost's ports, pools and devices stay in EAL's care until they
     * are closed, so none of them can outlive EAL's memory.
     *
     * @param resource the resource
     */
    public void disown(AutoCloseable resource) {
        release(resource, true);
    }

    private void take(AutoCloseable resource, boolean byApplication) {
        synchronized (owned) {
            ensureOpen();
            if (closing) {
                throw new IllegalStateException("EAL is closing");
            }
            owned.push(new Owned(resource, byApplication));
        }
    }

    private void release(AutoCloseable resource, boolean byApplication) {
        synchronized (owned) {
            owned.removeIf(o -> o.resource() == resource && o.byApplication() == byApplication);
        }
    }

    /** @throws IllegalStateException if this EAL was closed */
    public void ensureOpen() {
        if (!open) {
            throw new IllegalStateException("EAL was closed");
        }
    }

    /**
     * Closes what still uses DPDK's memory, then cleans EAL up ({@code rte_eal_cleanup}) and
     * removes its runtime directory. Idempotent.
     *
     * <p>First every open {@link io.jvhost.mbuf.PacketBatch} is closed (its packets freed; a
     * burst in flight on another thread is waited for, up to a second), then the resources EAL
     * owns (ports, pools, newest first). Every later call on any of them throws
     * {@link IllegalStateException}: nothing can reach DPDK's memory after it is gone.
     *
     * @throws IllegalStateException if a batch stays in a burst on another thread for a second
     *     (EAL is not closed then, and its ports and pools are not touched)
     * @throws EalException if rte_eal_cleanup fails (EAL is closed all the same)
     */
    @Override
    public void close() {
        synchronized (owned) {
            if (!open || closing) {
                return;
            }
            closing = true;
        }
        try {
            MbufArray.closeAll(1_000);
        } catch (IllegalStateException e) {
            synchronized (owned) {
                closing = false;
            }
            throw e;
        }
        List<AutoCloseable> toClose = new ArrayList<>();
        synchronized (owned) {
            owned.forEach(o -> toClose.add(o.resource()));
            owned.clear();
        }
        for (AutoCloseable r : toClose) {
            try {
                r.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + r + " before EAL cleanup failed", e);
            }
        }
        MempoolHandle.closeAllForEal(1_000); // what refused above: nothing may use its memory after cleanup
        synchronized (Eal.class) {
            if (!open) {
                return;
            }
            open = false;
            current = null;
            cleanedUp = true;
            int rc;
            List<String> log;
            try (NativeLog.Capture capture = NativeLog.capture(Thread.currentThread())) {
                rc = NativeEal.cleanup();
                log = capture.lines();
            }
            removeRuntimeDir();
            if (rc < 0) {
                throw new EalException("rte_eal_cleanup failed", -rc, NativeEal.strerror(-rc), log);
            }
        }
    }

    /** @return free hugepage memory in bytes, from /proc/meminfo (0 if unknown) */
    public static long hugepagesFree() {
        long free = meminfo("HugePages_Free:");
        long size = meminfo("Hugepagesize:");
        return free > 0 && size > 0 ? free * size * 1024 : 0;
    }

    /**
     * @param key a /proc/meminfo key with its colon, e.g. "MemAvailable:"
     * @return its number (kB for sizes), -1 if absent
     */
    static long meminfo(String key) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith(key))
                    .map(l -> l.substring(key.length()).trim().split("\\s+")[0])
                    .mapToLong(Long::parseLong).findFirst().orElse(-1);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Where EAL keeps its runtime files for a file prefix (eal_get_runtime_dir's rule). */
    private static Path runtimeDirOf(List<String> args) {
        String prefix = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--file-prefix=")) {
                prefix = a.substring("--file-prefix=".length());
            } else if (a.equals("--file-prefix") && i + 1 < args.size()) {
                prefix = args.get(i + 1);
            }
        }
        if (prefix == null || !prefix.startsWith("jvhost-")) {
            return null; // not ours to remove
        }
        String base = "/var/run";
        if (!"root".equals(System.getProperty("user.name"))) {
            String xdg = System.getenv("XDG_RUNTIME_DIR");
            base = xdg != null ? xdg : "/tmp";
        }
        return Path.of(base, "dpdk", prefix);
    }

    private void removeRuntimeDir() {
        if (runtimeDir == null || !Files.isDirectory(runtimeDir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(runtimeDir)) {
            List<Path> all = new ArrayList<>(files.toList());
            Collections.reverse(all);
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not remove " + runtimeDir, e);
        }
    }

    @Override
    public String toString() {
        return "Eal" + arguments + (open ? "" : " (closed)");
    }
}
