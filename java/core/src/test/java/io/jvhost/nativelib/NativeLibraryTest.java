package io.jvhost.nativelib;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.jvhost.Jvhost;
import io.jvhost.NativeLibraryLoadError;
import io.jvhost.internal.NativeLoader;
import io.jvhost.testing.ForkedJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The loader, and what the library exports. */
class NativeLibraryTest {
    /** Loads the library in a forked JVM and reports how it went. */
    public static final class LoadProbe {
        public static void main(String[] args) {
            try {
                Jvhost.loadNativeLibrary();
                Jvhost.loadNativeLibrary(); // twice is harmless
                System.out.println("LOADED " + Jvhost.dpdkVersion());
            } catch (NativeLibraryLoadError e) {
                System.out.println("LOADERROR platform=" + e.platform() + " path=" + e.path() + " message=" + e.getMessage()
                        + " cause=" + e.getCause());
                System.exit(4);
            }
        }
    }

    private static Path builtLibrary() {
        return Path.of(System.getProperty("jvhost.test.nativeDir"), "libjvhost.so");
    }

    @Test
    void loadsFromTheClassPathTwice() {
        Jvhost.loadNativeLibrary();
        Jvhost.loadNativeLibrary();
        assertThat(Jvhost.dpdkVersion(), startsWith("DPDK 22.11"));
        assertThat(NativeLoader.resourcePath(), equalTo("io/jvhost/native/linux-x86_64/libjvhost.so"));
        assertThat(getClass().getClassLoader().getResource(NativeLoader.resourcePath()) != null, equalTo(true));
    }

    @Test
    void loadsFromAnExplicitPath() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(LoadProbe.class,
                List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=" + builtLibrary()));
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("LOADED DPDK 22.11"));
    }

    @Test
    void missingFileGivesAClearError() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(LoadProbe.class,
                List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=/nonexistent/libjvhost.so"));
        assertThat(r.toString(), r.exitCode(), equalTo(4));
        assertThat(r.output(), containsString("LOADERROR platform=linux-x86_64 path=/nonexistent/libjvhost.so"));
        assertThat(r.output(), containsString("no such file"));
    }

    @Test
    void aFileThatIsNoLibraryGivesTheJvmsReason() throws Exception {
        Path bogus = Files.createTempFile("libjvhost-bogus", ".so");
        try {
            Files.writeString(bogus, "not an ELF file\n".repeat(512));
            ForkedJvm.Result r = ForkedJvm.run(LoadProbe.class,
                    List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=" + bogus));
            assertThat(r.toString(), r.exitCode(), equalTo(4));
            assertThat(r.output(), containsString("path=" + bogus));
            assertThat(r.output(), containsString("cause=java.lang.UnsatisfiedLinkError"));
            assertThat(r.output(), containsString("header"));
        } finally {
            Files.deleteIfExists(bogus);
        }
    }

    @Test
    void aMissingDependencyIsNamed() throws Exception {
        // A copy of the library that needs a libnuma nobody has: what a machine without libnuma sees.
        Path dir = Files.createTempDirectory("jvhost-dep");
        Path copy = dir.resolve("libjvhost.so");
        try {
            byte[] bytes = Files.readAllBytes(builtLibrary());
            byte[] needle = "libnuma.so.1".getBytes(StandardCharsets.US_ASCII);
            int at = indexOf(bytes, needle);
            assertThat("libjvhost.so needs libnuma.so.1", at >= 0, equalTo(true));
            bytes[at + 3] = 'X'; // libXuma.so.1
            Files.write(copy, bytes);
            ForkedJvm.Result r = ForkedJvm.run(LoadProbe.class,
                    List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=" + copy));
            assertThat(r.toString(), r.exitCode(), equalTo(4));
            assertThat(r.output(), containsString("libXuma.so.1"));
            assertThat(r.output(), containsString("a library it needs is missing"));
        } finally {
            Files.deleteIfExists(copy);
            Files.deleteIfExists(dir);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void exportsOnlyTheJniEntryPoints() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nm", "-D", "--defined-only", builtLibrary().toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS), equalTo(true));
        assertThat(out, p.exitValue(), equalTo(0));
        List<String> symbols = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3) {
                symbols.add(f[2]);
            }
        }
        assertThat(out, symbols, equalTo(List.of("JNI_OnLoad", "JNI_OnUnload")));
    }
}
