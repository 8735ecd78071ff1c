package io.jvhost.nativelib;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jvhost.Jvhost;
import io.jvhost.MemoryAccess;
import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.Jdks;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * JEP 472 on a JDK 24+ (a child JVM; this machine kind has a JDK 25): where native access is
 * denied, jvhost says which flag to add, with no JVM warning or stack; where it is enabled, packets
 * are read and written through FFM (the jar's versions/22 classes) and nothing is printed that a
 * user has to ignore. On the class path and, as a named module, on the module path.
 */
class NativeAccessTest {
    /** Loads jvhost, then moves bytes through a packet; prints what the test checks. */
    public static final class Probe {
        public static void main(String[] args) {
            if (!Jvhost.isAvailable()) {
                System.out.println("AVAILABLE false");
                System.out.println("CAUSE " + Jvhost.unavailabilityCause().getMessage());
                return;
            }
            System.out.println("AVAILABLE true");
            System.out.println("MEMORY " + Jvhost.memoryAccess());
            byte[] data = new byte[1500];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 7);
            }
            try (Eal eal = Eal.start(EalConfig.builder().memoryMb(64).build());
                    MbufPool pool = MbufPool.create(null, 63, 0, MbufPool.DEFAULT_DATA_ROOM);
                    PacketBatch batch = PacketBatch.allocate(4)) {
                batch.allocate(pool, 1);
                Packet p = batch.packet(0);
                p.setData(data, 0, data.length);
                p.putInt(100, 0x0a0b0c0d);
                ByteBuffer direct = ByteBuffer.allocateDirect(1500);
                p.copyTo(0, direct);
                ByteBuffer.wrap(data).putInt(100, 0x0a0b0c0d);
                boolean same = p.getInt(100) == 0x0a0b0c0d && direct.flip().equals(ByteBuffer.wrap(data))
                        && Arrays.equals(p.toByteArray(), data);
                System.out.println("ROUNDTRIP " + (same ? "ok" : "WRONG"));
            }
        }
    }

    private static Path java() {
        var java = Jdks.java(24);
        if (System.getenv("CI") != null) {
            assertThat("a JDK 24+ under /usr/lib/jvm (CI has Temurin 25)", java.isPresent(), equalTo(true));
        }
        assumeTrue(java.isPresent(), "no JDK 24+ on this machine");
        return java.get();
    }

    private static Path coreClasses() {
        return Path.of(System.getProperty("jvhost.basedir"), "java", "core", "target", "classes");
    }

    private static String run(List<String> jvmArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java().toString()));
        cmd.addAll(jvmArgs);
        cmd.add(Probe.class.getName());
        Path out = Files.createTempFile("jvhost-native-access-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("timed out: " + cmd);
            }
            String output = Files.readString(out, StandardCharsets.UTF_8);
            assertThat(cmd + "\n" + output, p.exitValue(), equalTo(0));
            return output;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The test class path (the core's classes, the versions/22 directory beside them, the tests). */
    private static List<String> classPath() {
        return List.of("-cp", System.getProperty("java.class.path"));
    }

    /**
     * The core as the named module io.jvhost.core (its classes directory, the versions/22 classes
     * patched in, as a multi-release jar on JDK 22+ would give them); the probe on the class path.
     */
    private static List<String> modulePath() {
        Path testClasses = coreClasses().resolveSibling("test-classes");
        return List.of("--module-path", coreClasses().toString(), "--add-modules", "io.jvhost.core",
                "--patch-module", "io.jvhost.core=" + coreClasses().resolve("META-INF/versions/22"),
                "-cp", testClasses.toString());
    }

    private static List<String> args(List<String> first, List<String> then) {
        List<String> all = new ArrayList<>(first);
        all.addAll(then);
        return all;
    }

    private static List<String> warnings(String output) {
        return output.lines().filter(l -> l.startsWith("WARNING")).toList();
    }

    @Test
    void deniedOnTheClassPathSaysWhichFlagToAdd() throws Exception {
        String out = run(args(List.of("--illegal-native-access=deny"), classPath()));
        assertThat(out, containsString("AVAILABLE false"));
        assertThat(out, containsString("native access is denied to the class path"));
        assertThat(out, containsString("--enable-native-access=ALL-UNNAMED"));
        assertThat(out, not(containsString("Exception")));
        assertThat(out, warnings(out), empty());
    }

    @Test
    void enabledOnTheClassPathUsesFfmAndPrintsNoWarning() throws Exception {
        String out = run(args(List.of("--enable-native-access=ALL-UNNAMED"), classPath()));
        assertThat(out, containsString("MEMORY " + MemoryAccess.FFM));
        assertThat(out, containsString("ROUNDTRIP ok"));
        assertThat(out, warnings(out), empty());
    }

    @Test
    void deniedOnTheModulePathNamesTheModule() throws Exception {
        String out = run(args(List.of("--illegal-native-access=deny"), modulePath()));
        assertThat(out, containsString("AVAILABLE false"));
        assertThat(out, containsString("native access is denied to module io.jvhost.core"));
        assertThat(out, containsString("--enable-native-access=io.jvhost.core"));
        assertThat(out, warnings(out), empty());
    }

    @Test
    void enabledForTheModuleUsesFfmAndPrintsNoWarning() throws Exception {
        String out = run(args(List.of("--enable-native-access=io.jvhost.core"), modulePath()));
        assertThat(out, containsString("MEMORY " + MemoryAccess.FFM));
        assertThat(out, containsString("ROUNDTRIP ok"));
        assertThat(out, warnings(out), empty());
    }

    /** Without a flag, JDK 25 still runs jvhost (it warns, as JEP 472 says): the flag is what's missing. */
    @Test
    void withoutAFlagTheJdkWarnsAboutSystemLoadOnly() throws Exception {
        String out = run(classPath());
        assertThat(out, containsString("ROUNDTRIP ok"));
        assertThat(out, containsString("WARNING: Use --enable-native-access=ALL-UNNAMED"));
        assertThat(out, not(containsString("sun.misc.Unsafe")));
    }

    /** -Djvhost.memoryAccess=unsafe: the JDK 17 path on a JDK 24+, for comparison; it still works. */
    @Test
    void unsafeCanBeAskedForOnANewJdk() throws Exception {
        String out = run(args(List.of("--enable-native-access=ALL-UNNAMED", "-Djvhost.memoryAccess=unsafe"), classPath()));
        assertThat(out, containsString("MEMORY " + MemoryAccess.UNSAFE));
        assertThat(out, containsString("ROUNDTRIP ok"));
    }

    /** This JVM: FFM on 22+, Unsafe before; the note says why when it is not FFM. */
    @Test
    void memoryAccessFollowsTheJdk() {
        boolean ffm = Runtime.version().feature() >= 22;
        assertThat(Jvhost.memoryAccessNote(), Jvhost.memoryAccess(), equalTo(ffm ? MemoryAccess.FFM : MemoryAccess.UNSAFE));
        if (!ffm) {
            assertThat(Jvhost.memoryAccessNote(), containsString("Java " + Runtime.version().feature()));
        } else {
            assertThat(Jvhost.memoryAccessNote(), equalTo(null));
        }
        assertThat(File.pathSeparator, equalTo(":"));
    }
}
