package io.jvhost.nativelib;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.jvhost.Jvhost;
import io.jvhost.NativeLibraryLoadError;
import io.jvhost.internal.NativeLoader;
import io.jvhost.log.DpdkLog;
import io.jvhost.testing.ForkedJvm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Jvhost#isAvailable()} and {@link Jvhost#unavailabilityCause()}, and that a failed load is not retried. */
class AvailabilityTest {
    private static final String MISSING = "/nonexistent/libjvhost.so";

    /**
     * Run with the library path naming a missing file; args[0] names a loadable library, set after
     * the first failure to show that nothing tries again.
     */
    public static final class UnavailableProbe {
        public static void main(String[] args) {
            boolean available = Jvhost.isAvailable();
            Throwable cause = Jvhost.unavailabilityCause();
            System.out.println("AVAILABLE " + available);
            System.out.println("CAUSE " + cause.getClass().getName() + ": " + cause.getMessage());
            System.setProperty(NativeLoader.LIBRARY_PATH_PROPERTY, args[0]); // loadable now, if anyone tried
            System.out.println("AVAILABLE-AGAIN " + Jvhost.isAvailable());
            System.out.println("SAME-CAUSE " + (Jvhost.unavailabilityCause() == cause));
            try {
                Jvhost.loadNativeLibrary();
                System.out.println("LOADED");
            } catch (NativeLibraryLoadError e) {
                System.out.println("THROWN " + e.getMessage());
                System.out.println("THROWN-PATH " + e.path());
                System.out.println("THROWN-CAUSE-IS-CAUSE " + (e.getCause() == cause));
            }
            try {
                DpdkLog.level(); // a public class that loads on its own
                System.out.println("DPDKLOG-LOADED");
            } catch (NativeLibraryLoadError e) {
                System.out.println("DPDKLOG-CAUSE-IS-CAUSE " + (e.getCause() == cause));
            }
        }
    }

    /** The first attempt made by a public class other than Jvhost: its error is the cause reported. */
    public static final class FirstThrowProbe {
        public static void main(String[] args) {
            try {
                DpdkLog.level();
                System.out.println("LOADED");
            } catch (NativeLibraryLoadError e) {
                System.out.println("FIRST-IS-CAUSE " + (e == Jvhost.unavailabilityCause()));
                System.out.println("FIRST-CAUSE " + e.getCause());
            }
            System.out.println("AVAILABLE " + Jvhost.isAvailable());
        }
    }

    /** A failure the loader does not foresee (a path no file system takes) keeps the same contract. */
    public static final class OddPathProbe {
        public static void main(String[] args) {
            System.setProperty(NativeLoader.LIBRARY_PATH_PROPERTY, "/tmp/lib\u0000jvhost.so");
            System.out.println("AVAILABLE " + Jvhost.isAvailable());
            Throwable cause = Jvhost.unavailabilityCause();
            System.out.println("CAUSE " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
            System.out.println("JVM-CAUSE " + cause.getCause().getClass().getName());
        }
    }

    @Test
    void availableInThisJvm() {
        assertThat(Jvhost.isAvailable(), equalTo(true));
        assertThat(Jvhost.unavailabilityCause(), nullValue());
        assertThat(NativeLoader.failure(), nullValue());
    }

    @Test
    void aMissingLibraryIsReportedOnceAndNotRetried() throws Exception {
        Path loadable = Path.of(System.getProperty("jvhost.test.nativeDir"), "libjvhost.so");
        ForkedJvm.Result r = ForkedJvm.run(UnavailableProbe.class,
                List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=" + MISSING), loadable.toString());
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        String out = r.output();
        assertThat(out, containsString("AVAILABLE false"));
        assertThat(out, containsString("CAUSE " + NativeLibraryLoadError.class.getName()
                + ": jvhost native library for linux-x86_64 (" + MISSING + "): no such file"));
        assertThat(out, containsString("AVAILABLE-AGAIN false"));
        assertThat(out, containsString("SAME-CAUSE true"));
        assertThat(out, containsString("THROWN jvhost native library for linux-x86_64 (" + MISSING
                + "): no such file (failed at the first attempt in this JVM; not retried)"));
        assertThat(out, containsString("THROWN-PATH " + MISSING));
        assertThat(out, containsString("THROWN-CAUSE-IS-CAUSE true"));
        assertThat(out, containsString("DPDKLOG-CAUSE-IS-CAUSE true"));
    }

    @Test
    void anUnforeseenFailureIsACauseToo() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(OddPathProbe.class);
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("AVAILABLE false"));
        assertThat(r.output(), containsString("CAUSE NativeLibraryLoadError: jvhost native library for linux-x86_64"));
        assertThat(r.output(), containsString("JVM-CAUSE java.nio.file.InvalidPathException"));
    }

    @Test
    void theFirstErrorThrownIsTheCause() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(FirstThrowProbe.class,
                List.of("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=" + MISSING));
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("FIRST-IS-CAUSE true"));
        assertThat(r.output(), containsString("FIRST-CAUSE null")); // no JVM error: the file is not there
        assertThat(r.output(), containsString("AVAILABLE false"));
    }
}
