package io.jvhost.frontend;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver's side of one packed virtqueue (virtio 1.1 §2.7) in guest memory: a ring of 16-byte
 * descriptors ({@code addr, len, id, flags}) and the driver and device event suppression areas,
 * each in its own page so that the IOMMU can map and invalidate them separately. Every buffer here
 * is a single descriptor, so the driver's avail and used positions advance by one per buffer and
 * each flips its wrap counter when it passes the end of the ring. Flags are stored with release and
 * loaded with acquire ordering, which is what the virtio memory model asks of a driver. Not
 * thread-safe: one thread per queue.
 */
final class PackedRing {
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_AVAIL = 1 << 7;
    static final int DESC_F_USED = 1 << 15;
    /** RING_EVENT_FLAGS_ENABLE / DISABLE in an event suppression area. */
    static final int EVENT_FLAGS_ENABLE = 0;
    static final int EVENT_FLAGS_DISABLE = 1;

    private static final VarHandle U16 = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    final int index;
    final int size;
    final long descGpa;
    /** Driver event suppression area: written by us, read by the device (SET_VRING_ADDR's avail). */
    final long driverEventGpa;
    /** Device event suppression area: written by the device (SET_VRING_ADDR's used). */
    final long deviceEventGpa;
    private final ByteBuffer desc;
    private final int descOff;
    private final ByteBuffer driverEvent;
    private final int driverEventOff;
    private final ByteBuffer deviceEvent;
    private final int deviceEventOff;
    private int nextAvail;
    private boolean availWrap = true;
    private int nextUsed;
    private boolean usedWrap = true;
    /** Used descriptors consumed so far (free running). */
    private int usedCount;

    PackedRing(GuestMemory mem, int index, int size) {
        if (size <= 0 || size > 32768 || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two up to 32768, got " + size);
        }
        this.index = index;
        this.size = size;
        long page = GuestMemory.PAGE_SIZE;
        descGpa = mem.allocate(DeviceAddresses.roundPage(16L * size), page);
        driverEventGpa = mem.allocate(page, page);
        deviceEventGpa = mem.allocate(page, page);
        desc = mem.bufferOf(descGpa, 16L * size);
        descOff = mem.offsetOf(descGpa);
        driverEvent = mem.bufferOf(driverEventGpa, 4);
        driverEventOff = mem.offsetOf(driverEventGpa);
        deviceEvent = mem.bufferOf(deviceEventGpa, 4);
        deviceEventOff = mem.offsetOf(deviceEventGpa);
        for (int i = 0; i < 16 * size; i++) {
            desc.put(descOff + i, (byte) 0);
        }
        driverEvent.putShort(driverEventOff, (short) 0);
        U16.setRelease(driverEvent, driverEventOff + 2, (short) EVENT_FLAGS_DISABLE);
        deviceEvent.putInt(deviceEventOff, 0);
    }

    /** Bytes of the descriptor ring. */
    long descBytes() {
        return 16L * size;
    }

    /** Bytes of an event suppression area. */
    static long eventBytes() {
        return 4;
    }

    /**
     * The vhost-user SET_VRING_BASE value for a fresh ring: avail index 0 in bits 0-14, avail wrap
     * counter 1 in bit 15 (the device starts its used index and wrap counter there too). Not the
     * driver's current position: a receive ring is already full of buffers when it is set up.
     */
    static int initialBase() {
        return 0x8000;
    }

    /**
     * Makes buffer {@code id} ({@code len} bytes at {@code addr}) available at the next position:
     * the flags, with AVAIL equal to the avail wrap counter and USED its inverse, are stored last
     * (release) so the device never sees a half-written descriptor.
     */
    void makeAvailable(long addr, int len, int id, int flags) {
        int o = descOff + 16 * nextAvail;
        desc.putLong(o, addr);
        desc.putInt(o + 8, len);
        desc.putShort(o + 12, (short) id);
        int f = flags | (availWrap ? DESC_F_AVAIL : DESC_F_USED);
        U16.setRelease(desc, o + 14, (short) f);
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
    }

    /** @return whether the descriptor at the next used position has been used by the device */
    boolean hasUsed() {
        int f = Short.toUnsignedInt((short) U16.getAcquire(desc, descOff + 16 * nextUsed + 14));
        boolean avail = (f & DESC_F_AVAIL) != 0;
        boolean used = (f & DESC_F_USED) != 0;
        return avail == usedWrap && used == usedWrap;
    }

    /** @return buffer id of the used descriptor at the next used position (after {@link #hasUsed()}) */
    int usedId() {
        return Short.toUnsignedInt(desc.getShort(descOff + 16 * nextUsed + 12));
    }

    /** @return length the device wrote into the buffer of the next used descriptor */
    int usedLen() {
        return desc.getInt(descOff + 16 * nextUsed + 8);
    }

    /**
     * Whether the {@code k}-th descriptor after the next used position is used (single-descriptor
     * buffers: each used buffer takes one ring slot).
     */
    boolean hasUsedAt(int k) {
        int p = nextUsed + k;
        boolean wrap = p >= size ? !usedWrap : usedWrap;
        int f = Short.toUnsignedInt((short) U16.getAcquire(desc, descOff + 16 * (p & (size - 1)) + 14));
        return ((f & DESC_F_AVAIL) != 0) == wrap && ((f & DESC_F_USED) != 0) == wrap;
    }

    int usedIdAt(int k) {
        return Short.toUnsignedInt(desc.getShort(descOff + 16 * ((nextUsed + k) & (size - 1)) + 12));
    }

    int usedLenAt(int k) {
        return desc.getInt(descOff + 16 * ((nextUsed + k) & (size - 1)) + 8);
    }

    /** Moves past {@code n} used descriptors. */
    void consumeUsed(int n) {
        for (int i = 0; i < n; i++) {
            if (++nextUsed == size) {
                nextUsed = 0;
                usedWrap = !usedWrap;
            }
        }
        usedCount += n;
    }

    /** @return used descriptors consumed so far (free running) */
    int usedCount() {
        return usedCount;
    }

    /** @return the id in the descriptor at ring position {@code pos} (any wrap) */
    int idAt(int pos) {
        return Short.toUnsignedInt(desc.getShort(descOff + 16 * (pos & (size - 1)) + 12));
    }

    /** @return the len in the descriptor at ring position {@code pos} (any wrap) */
    int lenAt(int pos) {
        return desc.getInt(descOff + 16 * (pos & (size - 1)) + 8);
    }

    /** @return the next position the driver makes a buffer available at */
    int nextAvail() {
        return nextAvail;
    }

    /** @return the next position the driver expects a used descriptor at */
    int nextUsed() {
        return nextUsed;
    }

    /** @return the avail wrap counter */
    boolean availWrap() {
        return availWrap;
    }

    /** @return the used wrap counter */
    boolean usedWrap() {
        return usedWrap;
    }

    /** Sets the driver's event flags: {@link #EVENT_FLAGS_ENABLE} asks the device for interrupts. */
    void setDriverEventFlags(int flags) {
        U16.setRelease(driverEvent, driverEventOff + 2, (short) flags);
    }

    /** @return the device's event flags (1 = DISABLE: the device does not want kicks) */
    int deviceEventFlags() {
        return Short.toUnsignedInt((short) U16.getAcquire(deviceEvent, deviceEventOff + 2));
    }
}
