package io.jvhost;

import io.jvhost.internal.NativeLoader;

/**
 * Thrown when jvhost's native library cannot be loaded. It is an {@link UnsatisfiedLinkError}, so
 * existing handlers keep working; its message names the platform, the path that was tried and a
 * hint, and {@link #getCause()} is the JVM's own error when there was one.
 */
public final class NativeLibraryLoadError extends UnsatisfiedLinkError {
    private static final long serialVersionUID = 1L;

    /** The platform tag looked for. */
    private final String platform;
    /** The file or resource tried. */
    private final String path;

    /**
     * @param platform the platform tag the loader looked for, e.g. {@code linux-x86_64}
     * @param path the file or jar resource that was tried
     * @param message what went wrong and what to do about it
     * @param cause the JVM's error, or {@code null}
     */
    public NativeLibraryLoadError(String platform, String path, String message, Throwable cause) {
        super(NativeLoader.describe(platform, path, message));
        this.platform = platform;
        this.path = path;
        if (cause != null) {
            initCause(cause);
        }
    }

    /** @return the platform tag the loader looked for, e.g. {@code linux-x86_64} */
    public String platform() {
        return platform;
    }

    /** @return the file or jar resource that was tried */
    public String path() {
        return path;
    }
}
