package io.jvhost;

/**
 * How jvhost reads and writes packet memory (mbuf fields and packet bytes, in place) in this JVM;
 * see {@link Jvhost#memoryAccess()}. Either way every access is bounds-checked against the packet
 * in Java first, and neither allocates.
 */
public enum MemoryAccess {
    /**
     * The Foreign Function &amp; Memory API ({@code java.lang.foreign}), on JDK 22 and later: the
     * jar's {@code META-INF/versions/22} classes.
     */
    FFM,
    /**
     * {@code sun.misc.Unsafe}, on JDK 17 to 21, or on a later JDK when the jar was built without a
     * JDK 22+ (see {@link Jvhost#memoryAccessNote()}).
     */
    UNSAFE
}
