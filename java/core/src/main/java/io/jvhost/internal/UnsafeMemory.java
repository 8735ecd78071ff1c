package io.jvhost.internal;

import java.lang.reflect.Field;

/**
 * Raw memory access for the data path: mbuf fields and packet bytes are read and written in place,
 * without a JNI call per packet. Callers check every bound first; only addresses that DPDK handed
 * out (mbufs a batch owns) reach here.
 */
public final class UnsafeMemory {
    /** The Unsafe instance. */
    public static final sun.misc.Unsafe UNSAFE;
    /** Offset of byte[] element 0. */
    public static final long BYTE_ARRAY_BASE;
    private static final long BUFFER_ADDRESS;

    static {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
            BYTE_ARRAY_BASE = UNSAFE.arrayBaseOffset(byte[].class);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(java.nio.Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * @param direct a direct buffer (the caller keeps it reachable while it uses the address)
     * @return the address of its element 0
     */
    public static long addressOf(java.nio.ByteBuffer direct) {
        return UNSAFE.getLong(direct, BUFFER_ADDRESS);
    }

    private UnsafeMemory() {
    }
}
