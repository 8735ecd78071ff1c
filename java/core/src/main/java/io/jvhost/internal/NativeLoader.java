package io.jvhost.internal;

import io.jvhost.NativeLibraryLoadError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/** Finds and loads libjvhost.so once per class loader. */
public final class NativeLoader {
    /** System property naming a libjvhost.so file to load instead of the jar's own. */
    public static final String LIBRARY_PATH_PROPERTY = "jvhost.library.path";

    private static final String LIBRARY_FILE = "libjvhost.so";
    private static volatile boolean loaded;

    private NativeLoader() {
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
     * Loads the library unless it is loaded already.
     *
     * @throws NativeLibraryLoadError when it cannot
     */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLoader.class) {
            if (loaded) {
                return;
            }
            String override = System.getProperty(LIBRARY_PATH_PROPERTY);
            if (override != null && !override.isEmpty()) {
                loadFile(Path.of(override).toAbsolutePath(), override);
            } else {
                loadFromResource();
            }
            NativeLog.start();
            loaded = true;
        }
    }

    private static void loadFromResource() {
        String resource = resourcePath();
        Path temp = null;
        try (InputStream in = NativeLoader.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new NativeLibraryLoadError(platform(), "resource " + resource,
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
            throw new NativeLibraryLoadError(platform(), "resource " + resource,
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
            throw new NativeLibraryLoadError(platform(), description, "no such file", null);
        }
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryLoadError(platform(), description, hint(e.getMessage()), e);
        }
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
