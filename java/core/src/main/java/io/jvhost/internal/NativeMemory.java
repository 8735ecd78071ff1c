package io.jvhost.internal;

import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;

/**
 * Raw memory access for the data path at absolute addresses: mbuf fields and packet bytes are read
 * and written in place, without a JNI call per packet. Values are in native byte order. Callers
 * check every bound first; only addresses that DPDK handed out (mbufs a batch owns) or that a live
 * direct buffer holds reach here.
 *
 * <p>Two implementations, one chosen per JVM and held in {@link #MEM}: on JDK 22 and later the
 * Foreign Function &amp; Memory API ({@code FfmMemory}, compiled with {@code --release 22} into the
 * jar's {@code META-INF/versions/22}), on JDK 17 to 21 (or a jar built without a JDK 22+)
 * {@code sun.misc.Unsafe} ({@link UnsafeMemory}). Only one of them is ever loaded, and
 * {@code MEM} is a static final field, so the JIT sees one exact class at every call site and
 * inlines it: no virtual dispatch on the hot path.
 *
 * <p>Neither checks the address against the mbuf: the FFM one reads through one segment that
 * spans the whole address space (its bounds check only excludes negative addresses), so the
 * checks in {@code Packet} and {@link MbufArray} remain the only guard.
 */
public abstract class NativeMemory {
    /** Why the FFM implementation is not in use, or {@code null} when it is; set by select(). */
    private static String fallbackReason;

    /** The implementation for this JVM. */
    public static final NativeMemory MEM = select();

    NativeMemory() {
    }

    /**
     * System property: {@code unsafe} forces the Unsafe implementation on JDK 22+ (to compare the
     * two on one JDK, or to work around an FFM problem); anything else is ignored.
     */
    public static final String PROPERTY = "jvhost.memoryAccess";

    private static NativeMemory select() {
        if ("unsafe".equalsIgnoreCase(System.getProperty(PROPERTY))) {
            fallbackReason = "-D" + PROPERTY + "=unsafe";
            return new UnsafeMemory();
        }
        if (Runtime.version().feature() < 22) {
            fallbackReason = "Java " + Runtime.version().feature() + " (FFM memory access needs 22+)";
            return new UnsafeMemory();
        }
        try {
            // only in the jar's META-INF/versions/22 (or on the class path beside it in tests)
            return (NativeMemory) Class.forName("io.jvhost.internal.FfmMemory").getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            fallbackReason = "this jvhost was built without a JDK 22+ (no META-INF/versions/22 classes)";
        } catch (ExceptionInInitializerError e) {
            // MemorySegment.reinterpret is restricted: an IllegalCallerException says native access
            // is denied, and then so is System.load, which reports it to the user
            fallbackReason = "FFM memory access failed: " + e.getCause();
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable c = e instanceof InvocationTargetException ? e.getCause() : e;
            fallbackReason = "FFM memory access failed: " + c;
        }
        return new UnsafeMemory();
    }

    /**
     * @return which implementation is in use: {@code "FFM"} (java.lang.foreign) or {@code "Unsafe"}
     *     (sun.misc.Unsafe)
     */
    public static String kind() {
        return MEM.name();
    }

    /** @return why the FFM implementation is not in use, or {@code null} when it is */
    public static String fallbackReason() {
        return fallbackReason;
    }

    /** @return "FFM" or "Unsafe" */
    abstract String name();

    /**
     * @param address an absolute address
     * @return the byte there
     */
    public abstract byte getByte(long address);

    /**
     * @param address an absolute address
     * @param value the byte to write there
     */
    public abstract void putByte(long address, byte value);

    /**
     * @param address an absolute address, any alignment
     * @return the 16 bits there, native byte order
     */
    public abstract short getShort(long address);

    /**
     * @param address an absolute address, any alignment
     * @param value written in native byte order
     */
    public abstract void putShort(long address, short value);

    /**
     * @param address an absolute address, any alignment
     * @return the 32 bits there, native byte order
     */
    public abstract int getInt(long address);

    /**
     * @param address an absolute address, any alignment
     * @param value written in native byte order
     */
    public abstract void putInt(long address, int value);

    /**
     * @param address an absolute address, any alignment
     * @return the 64 bits there, native byte order
     */
    public abstract long getLong(long address);

    /**
     * @param address an absolute address, any alignment
     * @param value written in native byte order
     */
    public abstract void putLong(long address, long value);

    /**
     * Copies {@code length} bytes from native memory into an array (bounds checked by the caller).
     *
     * @param src absolute address
     * @param dst the array
     * @param dstIndex where in dst
     * @param length how many
     */
    public abstract void copyToArray(long src, byte[] dst, int dstIndex, int length);

    /**
     * Copies {@code length} bytes from an array into native memory (bounds checked by the caller).
     *
     * @param src the array
     * @param srcIndex where in src
     * @param dst absolute address
     * @param length how many
     */
    public abstract void copyFromArray(byte[] src, int srcIndex, long dst, int length);

    /**
     * Copies {@code length} bytes between native addresses; the ranges may overlap (memmove).
     *
     * @param src absolute address
     * @param dst absolute address
     * @param length how many
     */
    public abstract void copy(long src, long dst, long length);

    /**
     * @param direct a direct buffer (the caller keeps it reachable while it uses the address)
     * @return the address of its element 0 (not of its position)
     */
    public abstract long address(ByteBuffer direct);
}
