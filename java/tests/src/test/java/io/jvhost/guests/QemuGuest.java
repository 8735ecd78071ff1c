package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * One QEMU guest (TCG) booted from scripts/guest-image.sh's kernel and initramfs, its serial console
 * in a file: the fixture the guest tests share. {@link #close()} kills QEMU whatever state it is in.
 *
 * <p>{@link #requireImage()} finds QEMU and builds the image once per JVM; it fails the calling test
 * in CI (CI=true) and skips it elsewhere when either is missing. {@link #assertNoneLeft()} checks that
 * no QEMU or serve process remains among this JVM's descendants.
 */
final class QemuGuest implements AutoCloseable {
    static final Path TOP = Path.of(System.getProperty("jvhost.basedir", "../..")).toAbsolutePath().normalize();
    static final boolean CI = "true".equalsIgnoreCase(System.getenv("CI"));
    static final Pattern GUEST_LINE = Pattern.compile("JVHOST-GUEST iface=eth0 (.*)");
    /** virtio feature bits (the guest prints them bit 0 first). */
    static final int F_MRG_RXBUF = 15;
    static final int F_ACCESS_PLATFORM = 33;
    static final int F_RING_PACKED = 34;
    /**
     * Guest RAM, all of it below 4 GiB (q35 puts up to 2 GiB there) from guest physical 0: 256 MiB
     * and 8 KiB (QEMU rounds RAM up to 8 KiB). The 8 KiB are for QEMU before 9.0, whose TCG loses
     * guest stores during a live migration (fixed by QEMU commit 03bfc2188f, "physmem: Fix
     * migration dirty bitmap coherency with TCG memory access"): its dirty-bitmap sync clears the
     * bits of a RAM block whose size is a multiple of 256 KiB on a fast path that does not reset
     * the TCG TLB, so later stores through it are not tracked. Other sizes take the exact path.
     * MigrationTest's memory comparison found these lost stores; see docs/guests.md.
     */
    static final long MEMORY_BYTES = 256L * 1024 * 1024 + 8192;

    private static boolean looked;
    static String qemu;
    static Path kernel;
    static Path initrd;
    /** Why guests cannot run here, or null. */
    static String missing;

    final String name;
    final Process process;
    final Path console;
    final Path log;

    private QemuGuest(String name, Process process, Path console, Path log) {
        this.name = name;
        this.process = process;
        this.console = console;
        this.log = log;
    }

    /** Fails in CI, skips elsewhere, when QEMU or the guest image is missing; in each test, so that the report counts them with the reason. */
    static synchronized void requireImage() throws Exception {
        if (!looked) {
            looked = true;
            findImage();
        }
        if (missing != null) {
            if (CI) {
                fail(missing + " (CI=true: the QEMU guest tests must run; .ci/run runs scripts/setup.sh --guests)");
            }
            Assumptions.assumeTrue(false, missing);
        }
    }

    private static void findImage() throws Exception {
        // -Djvhost.test.qemu=PATH runs another QEMU binary (or, pointed at nothing, shows the skip)
        String name = System.getProperty("jvhost.test.qemu", "qemu-system-x86_64");
        qemu = name.contains("/") ? (Files.isExecutable(Path.of(name)) ? name : null) : onPath(name);
        if (qemu == null) {
            missing = name + " is not installed: run scripts/setup.sh --guests to run the QEMU guest tests";
            return;
        }
        Path out = Files.createTempFile("jvhost-guest-image", ".log");
        try {
            Process p = new ProcessBuilder("bash", TOP.resolve("scripts/guest-image.sh").toString())
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            boolean done = p.waitFor(180, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor();
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (!done || p.exitValue() != 0) {
                missing = "scripts/guest-image.sh could not build the guest: " + text.strip();
                return;
            }
            for (String line : text.split("\n")) {
                if (line.startsWith("kernel=")) {
                    kernel = Path.of(line.substring(7).strip());
                } else if (line.startsWith("initrd=")) {
                    initrd = Path.of(line.substring(7).strip());
                }
            }
            if (kernel == null || initrd == null) {
                missing = "scripts/guest-image.sh printed no kernel/initrd: " + text;
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static String onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /**
     * What a guest boots with.
     *
     * @param mac eth0's MAC address
     * @param append the guest's /init options (jvhost.*=...), appended to the kernel command line
     */
    record Config(boolean iommu, boolean packed, int queuePairs, boolean mergeable, String mac, String append) {
        static Config plain(String append) {
            return new Config(false, false, 1, true, "02:00:00:00:00:02", append);
        }

        Config withIommu(boolean on) {
            return new Config(on, packed, queuePairs, mergeable, mac, append);
        }

        Config withMac(String m) {
            return new Config(iommu, packed, queuePairs, mergeable, m, append);
        }
    }

    /** The QEMU command line (the README's, with the config's options). */
    static List<String> command(Config c, Path socket, Path console) {
        List<String> cmd = new ArrayList<>(List.of(qemu, "-accel", "tcg",
                "-machine", c.iommu() ? "q35,kernel-irqchip=split" : "q35",
                "-m", MEMORY_BYTES / 1024 + "K", "-smp", Integer.toString(c.queuePairs()),
                "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
                "-serial", "file:" + console,
                "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                // no_timer_check: on a loaded host TCG can fail the kernel's IO-APIC timer check,
                // which panics the guest at boot ("IO-APIC + timer doesn't work!"), seen here
                "-append", "console=ttyS0 ipv6.disable=1 panic=-1 no_timer_check"
                        + (c.iommu() ? " intel_iommu=on iommu=nopt iommu.strict=1" : "") + " " + c.append(),
                "-object", "memory-backend-memfd,id=mem,size=" + MEMORY_BYTES / 1024 + "K,share=on", "-numa", "node,memdev=mem",
                "-chardev", "socket,id=c0,path=" + socket,
                "-netdev", "vhost-user,id=n0,chardev=c0" + (c.queuePairs() > 1 ? ",queues=" + c.queuePairs() : "")));
        if (c.iommu()) {
            cmd.addAll(List.of("-device", "intel-iommu,intremap=on,device-iotlb=on,caching-mode=on"));
        }
        cmd.addAll(List.of("-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
                "-device", "virtio-net-pci,bus=rp1,netdev=n0,mac=" + c.mac() + ",vectors=0"
                        + (c.iommu() ? ",iommu_platform=on,ats=on" : "")
                        + (c.packed() ? ",packed=on" : "")
                        + (c.mergeable() ? "" : ",mrg_rxbuf=off")
                        + (c.queuePairs() > 1 ? ",mq=on" : "")));
        return cmd;
    }

    /** Starts QEMU with {@code cmd}; its console is {@code dir/NAME-console.log} (the command must say so). */
    static QemuGuest start(String name, List<String> cmd, Path dir) throws IOException {
        Path log = dir.resolve(name + "-qemu.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new QemuGuest(name, p, consoleOf(name, dir), log);
    }

    /** Where {@link #start} expects guest NAME's console. */
    static Path consoleOf(String name, Path dir) {
        return dir.resolve(name + "-console.log");
    }

    /**
     * Waits for the guest to power off (QEMU to exit); fails with the diagnostics if it does not in
     * time, {@code others} (the other processes' logs, read then) included.
     */
    void awaitExit(long seconds, Callable<String> others) throws Exception {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            fail(name + ": the guest did not power off within " + seconds + " s" + diagnostics() + others.call());
        }
    }

    /** Waits until the console shows {@code text}; false if QEMU exited or the time ran out first. */
    boolean awaitConsole(String text, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!read(console).contains(text)) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                return read(console).contains(text);
            }
            Thread.sleep(100);
        }
        return true;
    }

    String console() throws IOException {
        return read(console);
    }

    /** The guest's counter line as key=value pairs. */
    Map<String, String> counters(String others) throws IOException {
        return keyValues(GUEST_LINE, read(console), name + ": no JVHOST-GUEST counter line on the guest's console"
                + diagnostics() + others);
    }

    /** key=value pairs after the first match of {@code p} in {@code text}; fails with {@code why} if none. */
    static Map<String, String> keyValues(Pattern p, String text, String why) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            fail(why);
        }
        Map<String, String> r = new HashMap<>();
        for (String kv : m.group(1).strip().split(" ")) {
            int eq = kv.indexOf('=');
            r.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return r;
    }

    String diagnostics() throws IOException {
        String state = process.isAlive() ? "running" : "exited with status " + process.exitValue();
        return "\n--- " + name + " console (tail) ---\n" + tail(read(console), 40) + "\n--- " + name + " qemu ("
                + state + ") ---\n" + tail(read(log), 20);
    }

    @Override
    public void close() throws InterruptedException {
        // a JUnit timeout interrupts the test thread: clear it so that the wait still waits
        boolean interrupted = Thread.interrupted();
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Asserts that no QEMU or serve (io.jvhost.cli.Main) process remains among this JVM's descendants. */
    static void assertNoneLeft() {
        List<String> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(h -> h.pid() + " " + h.info().commandLine().orElse("?"))
                .filter(c -> c.contains("qemu-system") || c.contains("io.jvhost.cli.Main")).toList();
        assertThat("processes left behind", left, empty());
    }

    /**
     * What a guest kernel prints when it finds its own memory or rings inconsistent, or stops making
     * progress: virtio_ring's "output.0:id 0 is not a head!", a WARNING or BUG with its trace, an
     * Oops, a soft lockup or RCU stall (the watchdogs that speak up within about 20 s of a hang).
     */
    static final Pattern KERNEL_FAILURE = Pattern.compile(
            "is not a head|WARNING: CPU:|BUG: |kernel BUG|Oops:|general protection fault|soft lockup|detected stall|Kernel panic");

    /**
     * @param console a guest's console output
     * @return its first line showing a kernel failure ({@link #KERNEL_FAILURE}), stripped; null if none
     */
    static String kernelFailure(String console) {
        Matcher m = KERNEL_FAILURE.matcher(console);
        if (!m.find()) {
            return null;
        }
        int start = console.lastIndexOf('\n', m.start()) + 1;
        int end = console.indexOf('\n', m.start());
        return console.substring(start, end < 0 ? console.length() : end).strip();
    }

    static String read(Path p) throws IOException {
        return Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1) : "";
    }

    static String tail(String s, int lines) {
        String[] all = s.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
