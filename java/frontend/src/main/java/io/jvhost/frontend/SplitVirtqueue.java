package io.jvhost.frontend;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver's side of one split virtqueue in guest memory: descriptor table, available ring and
 * used ring, each in its own page(s) so that the IOMMU can map and invalidate them separately.
 * Index updates use release/acquire ordering (VarHandles on the mapped buffer), which is what the
 * virtio memory model asks of a driver. Not thread-safe: one thread per queue.
 */
final class SplitVirtqueue {
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    /** VRING_AVAIL_F_NO_INTERRUPT: we poll, the backend need not signal. */
    static final int AVAIL_F_NO_INTERRUPT = 1;

    private static final VarHandle U16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    final int index;
    final int size;
    final long descGpa;
    final long availGpa;
    final long usedGpa;
    private final ByteBuffer desc;
    private final int descOff;
    private final ByteBuffer avail;
    private final int availOff;
    private final ByteBuffer used;
    private final int usedOff;
    /** next avail index to publish (free running u16). */
    private int availIdx;
    /** next used index to consume (free running u16). */
    private int lastUsed;

    SplitVirtqueue(GuestMemory mem, int index, int size) {
        if (size <= 0 || size > 32768 || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two up to 32768, got " + size);
        }
        this.index = index;
        this.size = size;
        long page = GuestMemory.PAGE_SIZE;
        descGpa = mem.allocate(round(16L * size), page);
        availGpa = mem.allocate(round(6L + 2L * size), page);
        usedGpa = mem.allocate(round(6L + 8L * size), page);
        desc = mem.bufferOf(descGpa, 16L * size);
        descOff = mem.offsetOf(descGpa);
        avail = mem.bufferOf(availGpa, 6L + 2L * size);
        availOff = mem.offsetOf(availGpa);
        used = mem.bufferOf(usedGpa, 6L + 8L * size);
        usedOff = mem.offsetOf(usedGpa);
        for (int i = 0; i < 16 * size; i++) {
            desc.put(descOff + i, (byte) 0);
        }
        avail.putShort(availOff, (short) AVAIL_F_NO_INTERRUPT);
        U16.setRelease(avail, availOff + 2, (short) 0);
        used.putShort(usedOff, (short) 0);
        U16.setRelease(used, usedOff + 2, (short) 0);
    }

    private static long round(long n) {
        return (n + GuestMemory.PAGE_SIZE - 1) / GuestMemory.PAGE_SIZE * GuestMemory.PAGE_SIZE;
    }

    /** Bytes of the descriptor table, avail ring and used ring (without padding). */
    long descBytes() {
        return 16L * size;
    }

    long availBytes() {
        return 6L + 2L * size;
    }

    long usedBytes() {
        return 6L + 8L * size;
    }

    void setDesc(int id, long addr, int len, int flags, int next) {
        int o = descOff + 16 * id;
        desc.putLong(o, addr);
        desc.putInt(o + 8, len);
        desc.putShort(o + 12, (short) flags);
        desc.putShort(o + 14, (short) next);
    }

    void setDescLen(int id, int len) {
        desc.putInt(descOff + 16 * id + 8, len);
    }

    /** Puts {@code head} in the next avail slot; not visible before {@link #publish()}. */
    void addAvail(int head) {
        avail.putShort(availOff + 4 + 2 * (availIdx & (size - 1)), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
    }

    /** Makes added avail entries visible to the device (release store of avail->idx). */
    void publish() {
        U16.setRelease(avail, availOff + 2, (short) availIdx);
    }

    /** Sets avail->flags (e.g. 0 to ask the device for interrupts on this ring). */
    void setAvailFlags(int flags) {
        avail.putShort(availOff, (short) flags);
    }

    /** @return used->flags (VRING_USED_F_NO_NOTIFY = 1: the device does not want kicks) */
    int usedFlags() {
        return Short.toUnsignedInt(used.getShort(usedOff));
    }

    /** @return used->idx (acquire load) */
    int usedIdx() {
        return Short.toUnsignedInt((short) U16.getAcquire(used, usedOff + 2));
    }

    /** @return how many used elements are waiting */
    int usedPending() {
        return (usedIdx() - lastUsed) & 0xffff;
    }

    /** @return id of the k-th waiting used element */
    int usedId(int k) {
        return used.getInt(usedOff + 4 + 8 * ((lastUsed + k) & (size - 1)));
    }

    /** @return len of the k-th waiting used element */
    int usedLen(int k) {
        return used.getInt(usedOff + 4 + 8 * ((lastUsed + k) & (size - 1)) + 4);
    }

    /** @return id of the used element at free-running position {@code pos} */
    int usedIdAt(int pos) {
        return used.getInt(usedOff + 4 + 8 * (pos & (size - 1)));
    }

    /** @return len of the used element at free-running position {@code pos} */
    int usedLenAt(int pos) {
        return used.getInt(usedOff + 4 + 8 * (pos & (size - 1)) + 4);
    }

    void consumeUsed(int n) {
        lastUsed = (lastUsed + n) & 0xffff;
    }

    int lastUsed() {
        return lastUsed;
    }

    int availIdx() {
        return availIdx;
    }

    /** @return the head id in avail slot {@code position} (free-running index) */
    int availEntry(int position) {
        return Short.toUnsignedInt(avail.getShort(availOff + 4 + 2 * (position & (size - 1))));
    }
}
