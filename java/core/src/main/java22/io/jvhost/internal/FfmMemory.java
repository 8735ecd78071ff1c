package io.jvhost.internal;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * {@link NativeMemory} through the Foreign Function &amp; Memory API (final since JDK 22): no
 * {@code sun.misc.Unsafe}. Compiled with {@code --release 22} into the jar's
 * {@code META-INF/versions/22}; NativeMemory picks it by name on JDK 22 and later.
 *
 * <p>Every access goes through {@link #ALL}, one segment over the whole address space: a static
 * final constant, so the JIT folds its base, size and (global, always alive) scope away and an
 * access costs what Unsafe's does. That segment's bounds check only excludes negative addresses: the
 * mbuf's own bounds are checked in Java before an address reaches here.
 */
final class FfmMemory extends NativeMemory {
    /**
     * Restricted ({@code reinterpret}): needs native access, as System.load does; where it is denied
     * this throws IllegalCallerException and NativeMemory falls back (the library does not load then).
     */
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @Override
    String name() {
        return "FFM";
    }

    @Override
    public byte getByte(long address) {
        return ALL.get(ValueLayout.JAVA_BYTE, address);
    }

    @Override
    public void putByte(long address, byte value) {
        ALL.set(ValueLayout.JAVA_BYTE, address, value);
    }

    @Override
    public short getShort(long address) {
        return ALL.get(SHORT, address);
    }

    @Override
    public void putShort(long address, short value) {
        ALL.set(SHORT, address, value);
    }

    @Override
    public int getInt(long address) {
        return ALL.get(INT, address);
    }

    @Override
    public void putInt(long address, int value) {
        ALL.set(INT, address, value);
    }

    @Override
    public long getLong(long address) {
        return ALL.get(LONG, address);
    }

    @Override
    public void putLong(long address, long value) {
        ALL.set(LONG, address, value);
    }

    @Override
    public void copyToArray(long src, byte[] dst, int dstIndex, int length) {
        MemorySegment.copy(ALL, ValueLayout.JAVA_BYTE, src, dst, dstIndex, length);
    }

    @Override
    public void copyFromArray(byte[] src, int srcIndex, long dst, int length) {
        MemorySegment.copy(src, srcIndex, ALL, ValueLayout.JAVA_BYTE, dst, length);
    }

    @Override
    public void copy(long src, long dst, long length) {
        MemorySegment.copy(ALL, src, ALL, dst, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>FFM's only way to a buffer's address, {@code MemorySegment.ofBuffer}, makes a segment and a
     * scope each time, and the JIT does not always remove them (a template fill measured 72 bytes
     * a call): each thread remembers its last {@value #REMEMBERED} buffers (weakly: they may be big)
     * and their addresses, so bursts that reuse their buffers allocate nothing; another buffer
     * allocates one small reference.
     */
    @Override
    public long address(ByteBuffer direct) {
        Remembered r = REMEMBERED_BUFFERS.get();
        for (int i = 0; i < REMEMBERED; i++) {
            if (r.buffers[i].get() == direct) {
                return r.addresses[i];
            }
        }
        int i = r.next;
        r.next = (i + 1) % REMEMBERED;
        // the segment spans position..limit; its address is element 0's plus the position
        r.addresses[i] = MemorySegment.ofBuffer(direct).address() - direct.position();
        r.buffers[i] = new WeakReference<>(direct);
        return r.addresses[i];
    }

    private static final int REMEMBERED = 4;
    private static final ThreadLocal<Remembered> REMEMBERED_BUFFERS = ThreadLocal.withInitial(Remembered::new);

    /** One thread's last direct buffers and the addresses of their element 0, replaced in turn. */
    private static final class Remembered {
        @SuppressWarnings("unchecked")
        final WeakReference<ByteBuffer>[] buffers = new WeakReference[REMEMBERED];
        final long[] addresses = new long[REMEMBERED];
        int next;

        Remembered() {
            java.util.Arrays.fill(buffers, new WeakReference<ByteBuffer>(null));
        }
    }
}
