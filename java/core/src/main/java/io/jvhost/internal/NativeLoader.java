package io.jvhost.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * Finds and loads libjvhost.so once per class loader, and remembers a failure: a library that could
 * not be loaded is not tried again (the attempt extracts a file and may take a while; its outcome
 * does not change). Failures are {@link LoadFailure}s, which the public API turns into
 * {@code io.jvhost.NativeLibraryLoadError}.
 */
public final class NativeLoader {
    /** System property naming a libjvhost.so file to load instead of the jar's own. */
    public static final String LIBRARY_PATH_PROPERTY = "jvhost.library.path";

    private static final String LIBRARY_FILE = "libjvhost.so";
    private static volatile boolean loaded;
    /** The first attempt's failure, once there was one; guarded by NativeLoader.class. */
    private static LoadFailure failure;

    private NativeLoader() {
    }

    /**
     * Why the library could not be loaded: the platform looked for, the file or resource tried, what
     * went wrong with a hint, and the JVM's own error as the cause when there was one.
     */
    public static final class LoadFailure extends UnsatisfiedLinkError {
        private static final long serialVersionUID = 1L;

        private final String platform;
        private final String path;
        private final String detail;

        LoadFailure(String platform, String path, String detail, Throwable cause) {
            super(describe(platform, path, detail));
            this.platform = platform;
            this.path = path;
            this.detail = detail;
            if (cause != null) {
                initCause(cause);
            }
        }

        /** @return the platform tag looked for, e.g. {@code linux-x86_64} */
        public String platform() {
            return platform;
        }

        /** @return the file or jar resource tried */
        public String path() {
            return path;
        }

        /** @return what went wrong and what to do about it */
        public String detail() {
            return detail;
        }
    }

    /**
     * @param platform the platform tag looked for
     * @param path the file or resource tried
     * @param detail what went wrong and what to do about it
     * @return the message of a load failure, the same in the internal and the public error
     */
    public static String describe(String platform, String path, String detail) {
        return "jvhost native library for " + platform + " (" + path + "): " + detail;
    }

    /** @return the platform tag used in resource paths, e.g. {@code linux-x86_64} */
    public static String platform() {
        String os = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else {
            os = os.replaceAll("[^a-z0-9]+", "");
        }
        switch (arch) {
            case "amd64":
            case "x86_64":
                arch = "x86_64";
                break;
            case "arm64":
            case "aarch64":
                arch = "aarch64";
                break;
            default:
                arch = arch.replaceAll("[^a-z0-9_]+", "");
        }
        return os + "-" + arch;
    }

    /** @return the jar resource holding the library for this platform */
    public static String resourcePath() {
        return "io/jvhost/native/" + platform() + "/" + LIBRARY_FILE;
    }

    /**
     * Loads the library unless it is loaded already. Only the first call tries; once it failed,
     * every later call throws a new {@link LoadFailure} that repeats the first one's message, says it
     * was not retried, and has the first failure as its cause (see {@link #failure()}).
     *
     * @throws LoadFailure when it cannot
     */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLoader.class) {
            if (loaded) {
                return;
            }
            if (failure != null) {
                throw new LoadFailure(failure.platform, failure.path,
                        failure.detail + " (failed at the first attempt in this JVM; not retried)", failure);
            }
            String override = System.getProperty(LIBRARY_PATH_PROPERTY);
            boolean explicit = override != null && !override.isEmpty();
            String description = explicit ? override : "resource " + resourcePath();
            try {
                if (explicit) {
                    loadFile(Path.of(override).toAbsolutePath(), override);
                } else {
                    loadFromResource();
                }
                NativeLog.start();
                loaded = true;
            } catch (LoadFailure f) {
                failure = f;
                throw f;
            } catch (RuntimeException | LinkageError e) {
                // anything else (a path the file system refuses, DPDK's log stream not set up): the
                // same contract, so that availability can be asked without an exception
                failure = new LoadFailure(platform(), description, e.toString(), e);
                throw failure;
            }
        }
    }

    /**
     * @return the first attempt's failure, or {@code null} if the library is loaded or no attempt
     *     failed yet
     */
    public static LoadFailure failure() {
        synchronized (NativeLoader.class) {
            return failure;
        }
    }

    private static void loadFromResource() {
        String resource = resourcePath();
        Path temp = null;
        try (InputStream in = NativeLoader.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new LoadFailure(platform(), "resource " + resource,
                        "this jar has no native library for this platform (jvhost is built for"
                                + " linux-x86_64 with DPDK 22.11); set -D" + LIBRARY_PATH_PROPERTY
                                + "=/path/to/" + LIBRARY_FILE + " to use one built by hand",
                        null);
            }
            // A private copy: owner-only permissions, deleted as soon as it is mapped.
            temp = Files.createTempFile("libjvhost-", ".so",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
            loadFile(temp, "resource " + resource + " extracted to " + temp);
        } catch (IOException e) {
            throw new LoadFailure(platform(), "resource " + resource,
                    "could not extract it to a temporary file (" + e + "); check java.io.tmpdir="
                            + System.getProperty("java.io.tmpdir") + " is writable and not mounted noexec",
                    e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // best effort: the file is in the temp directory anyway
                }
            }
        }
    }

    private static void loadFile(Path file, String description) {
        if (!Files.isRegularFile(file)) {
            throw new LoadFailure(platform(), description, "no such file", null);
        }
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new LoadFailure(platform(), description, hint(e.getMessage()), e);
        } catch (IllegalCallerException e) {
            // JDK 24+ with --illegal-native-access=deny (JEP 472): one clear message, not the JVM's
            throw new LoadFailure(platform(), description, nativeAccessDenied(), e);
        }
    }

    /** @return the message for a JVM that denies this module native access, naming the flag */
    static String nativeAccessDenied() {
        Module module = NativeLoader.class.getModule();
        String who = module.isNamed() ? module.getName() : "ALL-UNNAMED";
        return "native access is denied to " + (module.isNamed() ? "module " + who : "the class path")
                + " (java --illegal-native-access=deny): start java with --enable-native-access=" + who
                + (module.isNamed() ? "" : " (or, for an executable jar, the manifest attribute"
                        + " Enable-Native-Access: ALL-UNNAMED)");
    }

    private static String hint(String jvmMessage) {
        String m = String.valueOf(jvmMessage);
        if (m.contains("cannot open shared object file")) {
            return m + " (a library it needs is missing: run scripts/setup.sh, or install libnuma1,"
                    + " libbsd0 and libatomic1)";
        }
        if (m.contains("wrong ELF class") || m.contains("ELF file")) {
            return m + " (built for another architecture than this JVM's " + System.getProperty("os.arch") + ")";
        }
        return m;
    }
}
