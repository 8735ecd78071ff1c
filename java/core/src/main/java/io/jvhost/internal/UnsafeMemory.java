package io.jvhost.internal;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * {@link NativeMemory} through {@code sun.misc.Unsafe}: JDK 17 to 21, where the FFM API is not final
 * (and a jar built without a JDK 22+). Never loaded where {@code FfmMemory} is used, so JDK 24+
 * prints no "terminally deprecated method in sun.misc.Unsafe" warning.
 */
final class UnsafeMemory extends NativeMemory {
    private static final sun.misc.Unsafe UNSAFE;
    private static final long BYTE_ARRAY_BASE;
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

    @Override
    String name() {
        return "Unsafe";
    }

    @Override
    public byte getByte(long address) {
        return UNSAFE.getByte(address);
    }

    @Override
    public void putByte(long address, byte value) {
        UNSAFE.putByte(address, value);
    }

    @Override
    public short getShort(long address) {
        return UNSAFE.getShort(address);
    }

    @Override
    public void putShort(long address, short value) {
        UNSAFE.putShort(address, value);
    }

    @Override
    public int getInt(long address) {
        return UNSAFE.getInt(address);
    }

    @Override
    public void putInt(long address, int value) {
        UNSAFE.putInt(address, value);
    }

    @Override
    public long getLong(long address) {
        return UNSAFE.getLong(address);
    }

    @Override
    public void putLong(long address, long value) {
        UNSAFE.putLong(address, value);
    }

    @Override
    public void copyToArray(long src, byte[] dst, int dstIndex, int length) {
        UNSAFE.copyMemory(null, src, dst, BYTE_ARRAY_BASE + dstIndex, length);
    }

    @Override
    public void copyFromArray(byte[] src, int srcIndex, long dst, int length) {
        UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + srcIndex, null, dst, length);
    }

    @Override
    public void copy(long src, long dst, long length) {
        UNSAFE.copyMemory(src, dst, length);
    }

    @Override
    public long address(ByteBuffer direct) {
        return UNSAFE.getLong(direct, BUFFER_ADDRESS);
    }
}
