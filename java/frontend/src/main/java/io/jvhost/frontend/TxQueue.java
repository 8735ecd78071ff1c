package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A transmit virtqueue: one buffer ("slot") per descriptor, each holding a virtio-net header and
 * a frame, mapped read-only for the device. Slots come back when the device marks them used.
 */
final class TxQueue implements TxRing {
    final SplitVirtqueue vq;
    final VringLayout layout;
    private final Vring vring;
    private final GuestMemory memory;
    private final long[] slotGpa;
    private final int[] free;
    private int freeTop;

    TxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this.memory = memory;
        this.vq = new SplitVirtqueue(memory, index, ringSize);
        this.vring = new SplitVring(vq);
        addresses.mapRings(vq);
        this.slotGpa = new long[ringSize];
        this.free = new int[ringSize];
        long lo = Long.MAX_VALUE;
        long hi = 0;
        for (int i = 0; i < ringSize; i++) {
            long gpa = memory.allocate(slotSize, GuestMemory.PAGE_SIZE);
            slotGpa[i] = gpa;
            addresses.map(gpa, slotSize, Access.RO);
            vq.setDesc(i, addresses.dev(gpa), 0, 0, 0);
            free[freeTop++] = ringSize - 1 - i;
            lo = Math.min(lo, gpa);
            hi = Math.max(hi, gpa + slotSize);
        }
        this.layout = addresses.layout(vq, lo, hi);
    }

    @Override
    public Vring vring() {
        return vring;
    }

    @Override
    public VringLayout layout() {
        return layout;
    }

    @Override
    public int[] usedElement(int pos) {
        return new int[] {vq.usedIdAt(pos), vq.usedLenAt(pos)};
    }

    @Override
    public int usedConsumed() {
        return vq.lastUsed();
    }

    /** @return the GPA of slot {@code id} */
    @Override
    public long slotGpa(int id) {
        return slotGpa[id];
    }

    /**
     * Takes a free slot and zeroes its virtio-net header.
     *
     * @return its id, or -1 if the ring is full
     */
    @Override
    public int take() {
        reclaim();
        if (freeTop == 0) {
            return -1;
        }
        int id = free[--freeTop];
        long gpa = slotGpa[id];
        ByteBuffer b = memory.bufferOf(gpa, VirtioNetFrontend.NET_HDR_SIZE);
        int o = memory.offsetOf(gpa);
        b.putLong(o, 0);
        b.putInt(o + 8, 0);
        return id;
    }

    /** Makes slot {@code id}, with a frame of {@code len} bytes after its header, available; kicks if asked. */
    @Override
    public void publish(int id, int len, VringNotifier notifier) {
        vq.setDescLen(id, VirtioNetFrontend.NET_HDR_SIZE + len);
        vq.addAvail(id);
        vq.publish();
        if (notifier != null && (vq.usedFlags() & 1) == 0) {
            notifier.kick();
        }
    }

    /** Takes back the slots the device used; a used id outside the ring is the device's fault. */
    int reclaim() {
        int n = vq.usedPending();
        for (int k = 0; k < n; k++) {
            int id = vq.usedId(k);
            if (id < 0 || id >= vq.size) {
                throw new IllegalStateException("backend returned used id " + id + " on vring " + vq.index);
            }
            free[freeTop++] = id;
        }
        vq.consumeUsed(n);
        return n;
    }

    /** @return slots handed to the device and not used yet */
    @Override
    public int inFlight() {
        reclaim();
        return vq.size - freeTop;
    }
}
