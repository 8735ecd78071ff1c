package io.jvhost;

import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeLoader;
import io.jvhost.internal.NativeMemory;

/**
 * Versions of jvhost and of the DPDK it was built with, and explicit loading of the native part.
 *
 * <p>Whether the native part can be used here, without an exception, in the shape of netty's
 * {@code Epoll.isAvailable()}:
 *
 * <pre>{@code
 * if (!Jvhost.isAvailable()) {
 *     log.warn("jvhost unavailable, falling back", Jvhost.unavailabilityCause());
 * }
 * }</pre>
 *
 * <p>The library is loaded at most once per class loader: a load that failed is not tried again,
 * and every later use of jvhost throws a {@link NativeLibraryLoadError} whose cause is
 * {@link #unavailabilityCause()}.
 */
public final class Jvhost {
    /** The public form of the loader's first failure, once there was one; guarded by Jvhost.class. */
    private static NativeLibraryLoadError firstFailure;

    private Jvhost() {
    }

    /**
     * Loads jvhost's native library if it is not loaded yet. Every class that needs it calls this
     * itself; calling it early only moves a load failure to a place of your choice. Loading twice is
     * harmless.
     *
     * <p>The library is taken from the file named by the system property
     * {@value NativeLoader#LIBRARY_PATH_PROPERTY} when it is set, otherwise from the jar's resource
     * {@code io/jvhost/native/<os>-<arch>/libjvhost.so}, copied to a private temporary file that is
     * deleted right after loading.
     *
     * <p>Only the first call tries. If it failed, it threw the error {@link #unavailabilityCause()}
     * returns, and every later call throws a new {@code NativeLibraryLoadError} with the same
     * platform and path whose cause is that first error.
     *
     * @throws NativeLibraryLoadError if the library cannot be found or loaded
     */
    public static void loadNativeLibrary() {
        try {
            NativeLoader.load();
        } catch (NativeLoader.LoadFailure f) {
            NativeLibraryLoadError first = firstFailure();
            if (f == NativeLoader.failure()) {
                throw first; // this call made the attempt
            }
            throw new NativeLibraryLoadError(f.platform(), f.path(), f.detail(), first);
        }
    }

    /**
     * Whether jvhost's native library is loaded or can be loaded now; loads it if needed. Never
     * throws.
     *
     * @return {@code true} if the native part of jvhost can be used
     * @see #unavailabilityCause()
     */
    public static boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /**
     * Why jvhost's native library cannot be used, for a message or a log; loads it if needed. Never
     * throws. Once the library failed to load, every call returns the same instance.
     *
     * @return {@code null} if the library is loaded, otherwise the {@link NativeLibraryLoadError}
     *     of the first load attempt: its message names the platform, the file or resource tried and
     *     a hint
     */
    public static Throwable unavailabilityCause() {
        try {
            NativeLoader.load();
            return null;
        } catch (NativeLoader.LoadFailure f) {
            return firstFailure();
        }
    }

    /** @return the public form of the loader's first failure, made once; call only after one */
    private static synchronized NativeLibraryLoadError firstFailure() {
        if (firstFailure == null) {
            NativeLoader.LoadFailure f = NativeLoader.failure();
            firstFailure = new NativeLibraryLoadError(f.platform(), f.path(), f.detail(), f.getCause());
            firstFailure.setStackTrace(f.getStackTrace()); // where the attempt was made
        }
        return firstFailure;
    }

    /**
     * Which API reads and writes packet memory in this JVM, chosen once: {@link MemoryAccess#FFM}
     * on JDK 22 and later, {@link MemoryAccess#UNSAFE} before (or when the jar lacks its JDK 22
     * classes, or {@code -Djvhost.memoryAccess=unsafe} asks for Unsafe). It does not load the
     * native library.
     *
     * @return the memory access in use
     */
    public static MemoryAccess memoryAccess() {
        return NativeMemory.kind().equals("FFM") ? MemoryAccess.FFM : MemoryAccess.UNSAFE;
    }

    /**
     * @return why {@link #memoryAccess()} is not {@link MemoryAccess#FFM}, e.g. "Java 17 (FFM memory
     *     access needs 22+)", or {@code null} when it is
     */
    public static String memoryAccessNote() {
        NativeMemory.kind(); // chosen first
        return NativeMemory.fallbackReason();
    }

    /** @return jvhost's own version (from the jar's manifest; "dev" when run from classes) */
    public static String version() {
        String v = Jvhost.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /**
     * @return the version string of the DPDK linked into the native library, e.g. "DPDK 22.11.11";
     *     it does not need the EAL to be running
     * @throws NativeLibraryLoadError if the library cannot be loaded
     */
    public static String dpdkVersion() {
        loadNativeLibrary();
        return NativeEal.dpdkVersion();
    }
}
