package io.jvhost;

import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeLoader;

/** Versions of jvhost and of the DPDK it was built with, and explicit loading of the native part. */
public final class Jvhost {
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
     * @throws NativeLibraryLoadError if the library cannot be found or loaded
     */
    public static void loadNativeLibrary() {
        NativeLoader.load();
    }

    /** @return jvhost's own version (from the jar's manifest; "dev" when run from classes) */
    public static String version() {
        String v = Jvhost.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /**
     * @return the version string of the DPDK linked into the native library, e.g. "DPDK 22.11.11";
     *     it does not need the EAL to be running
     */
    public static String dpdkVersion() {
        NativeLoader.load();
        return NativeEal.dpdkVersion();
    }
}
