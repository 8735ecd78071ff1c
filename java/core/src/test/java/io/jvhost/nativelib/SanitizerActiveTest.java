package io.jvhost.nativelib;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jvhost.Jvhost;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Under {@code mvn -Pasan}: proves the sanitizer run is real, i.e. the ASan runtime is in this JVM
 * and the loaded libjvhost.so is the instrumented one. Skipped in normal runs.
 */
class SanitizerActiveTest {
    @Test
    void asanRuntimeAndInstrumentedLibraryAreLoaded() throws Exception {
        String lib = System.getProperty("jvhost.library.path", "");
        assumeTrue(lib.contains("asan-lib"), "only under -Pasan");
        Jvhost.loadNativeLibrary();
        String maps = Files.readString(Path.of("/proc/self/maps"));
        assertThat(maps, containsString("libasan.so"));
        // the kernel names mappings by their canonical path; the property may hold "a/../b"
        assertThat(maps, containsString(Path.of(lib).toRealPath().toString()));
        Process nm = new ProcessBuilder("nm", "-D", "--undefined-only", lib).redirectErrorStream(true).start();
        String undefined = new String(nm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        nm.waitFor(30, TimeUnit.SECONDS);
        assertThat("instrumented: calls into the ASan runtime", undefined, containsString("__asan_report"));
        assertThat("instrumented: calls into the UBSan runtime", undefined, containsString("__ubsan_handle"));
    }
}
