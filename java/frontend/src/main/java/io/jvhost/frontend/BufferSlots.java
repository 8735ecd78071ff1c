package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * The buffers ("slots") of one virtqueue: {@code count} equal buffers of {@code size} bytes carved
 * from guest memory and mapped for the device, and which of them the device holds. Split and
 * packed queues, receive and transmit, hand out the same slots; only how a slot is posted and
 * returned is ring-format logic, kept in the queue classes.
 *
 * <p>Slots smaller than a page share page-aligned blocks, larger ones get a block each; each block
 * is mapped once (with the IOMMU, at its IOVA). Free slots sit on a stack: take and give back are
 * O(1) and allocate nothing, as they run per frame.
 */
final class BufferSlots {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    /** Number of slots; ids are 0..count-1. */
    final int count;
    /** Bytes per slot. */
    final int size;
    /** First GPA of the slots' memory. */
    final long lo;
    /** GPA just past the slots' memory. */
    final long hi;
    private final GuestMemory memory;
    private final DeviceAddresses addresses;
    private final long[] gpa;
    private final int[] free;
    private final boolean[] out;
    private int freeTop;

    BufferSlots(GuestMemory memory, DeviceAddresses addresses, int count, int size, Access access) {
        this.memory = memory;
        this.addresses = addresses;
        this.count = count;
        this.size = size;
        this.gpa = new long[count];
        this.free = new int[count];
        this.out = new boolean[count];
        int page = GuestMemory.PAGE_SIZE;
        int perBlock = Math.max(1, page / size);
        int block = Math.max(size, page);
        long l = Long.MAX_VALUE;
        long h = 0;
        for (int i = 0; i < count; i += perBlock) {
            long b = memory.allocate(block, page);
            addresses.map(b, block, access);
            for (int k = 0; k < perBlock && i + k < count; k++) {
                gpa[i + k] = b + (long) k * size;
            }
            l = Math.min(l, b);
            h = Math.max(h, b + block);
        }
        this.lo = l;
        this.hi = h;
        for (int i = count - 1; i >= 0; i--) {
            free[freeTop++] = i; // so that take() hands out 0, 1, 2, ... first
        }
    }

    /** @return pages to hold {@code bytes} */
    static int pages(int bytes) {
        return (bytes + GuestMemory.PAGE_SIZE - 1) / GuestMemory.PAGE_SIZE;
    }

    /** @return the GPA of slot {@code id} */
    long gpa(int id) {
        return gpa[id];
    }

    /** @return the address the device uses for slot {@code id} (IOVA with the IOMMU) */
    long dev(int id) {
        return addresses.dev(gpa[id]);
    }

    /**
     * Takes a free slot to hand to the device.
     *
     * @return its id, or -1 if the device holds all of them
     */
    int take() {
        if (freeTop == 0) {
            return -1;
        }
        int id = free[--freeTop];
        out[id] = true;
        return id;
    }

    /** Takes back slot {@code id}, which the device returned on {@code vring}; it must hold it. */
    void giveBack(int id, int vring) {
        if (!isOut(id)) {
            throw badUsedId(id, vring);
        }
        out[id] = false;
        free[freeTop++] = id;
    }

    /** @return whether {@code id} is a slot the device holds (false for any id outside 0..count-1) */
    boolean isOut(int id) {
        return id >= 0 && id < count && out[id];
    }

    /** @return slots the device holds */
    int outCount() {
        return count - freeTop;
    }

    /** The error for a used id that is not a slot the device holds: the device's fault. */
    static IllegalStateException badUsedId(int id, int vring) {
        return new IllegalStateException("backend returned used id " + id + " on vring " + vring);
    }

    /** Checks a used length the device wrote for a slot ({@code first}: the frame's first, with the header). */
    void checkUsedLen(int len, boolean first, int vring) {
        if (len < 0 || len > size || (first && len < HDR)) {
            throw new IllegalStateException("backend returned used len " + len + " for a buffer of " + size
                    + " bytes on vring " + vring);
        }
    }

    /**
     * Takes a free slot, as {@link #take()}, and zeroes the virtio-net header at its start (a
     * transmit slot's header is the driver's to write).
     *
     * @return its id, or -1 if the device holds all of them
     */
    int takeCleared() {
        int id = take();
        if (id >= 0) {
            long g = gpa[id];
            ByteBuffer b = memory.bufferOf(g, HDR);
            int o = memory.offsetOf(g);
            b.putLong(o, 0);
            b.putInt(o + 8, 0);
        }
        return id;
    }

    /** @return {@code num_buffers} of the virtio-net header at the start of slot {@code id} */
    int numBuffers(int id) {
        long g = gpa[id];
        return Short.toUnsignedInt(memory.bufferOf(g, HDR).getShort(memory.offsetOf(g) + 10));
    }

    /**
     * Copies {@code len} bytes from offset {@code skip} of slot {@code id} into {@code dstBuf} (at
     * its position, which advances) or, if it is null, into {@code dstArr} at {@code dstOff}.
     *
     * @return {@code dstOff} advanced past the bytes copied into {@code dstArr}
     */
    int copyOut(int id, int skip, int len, ByteBuffer dstBuf, byte[] dstArr, int dstOff) {
        long g = gpa[id] + skip;
        ByteBuffer src = memory.bufferOf(g, len);
        int so = memory.offsetOf(g);
        if (dstBuf != null) {
            dstBuf.put(dstBuf.position(), src, so, len);
            dstBuf.position(dstBuf.position() + len);
            return dstOff;
        }
        src.get(so, dstArr, dstOff, len);
        return dstOff + len;
    }
}
