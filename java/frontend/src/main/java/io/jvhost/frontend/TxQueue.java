package io.jvhost.frontend;

import io.jvhost.protocol.Access;

/**
 * A transmit virtqueue: one slot (a virtio-net header and a frame, mapped read-only for the
 * device) per descriptor, descriptor {@code i} pointing at slot {@code i} for good. Slots come back
 * when the device marks them used.
 */
final class TxQueue implements TxRing {
    final SplitVirtqueue vq;
    final VringLayout layout;
    private final Vring vring;
    private final BufferSlots slots;

    TxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this.vq = new SplitVirtqueue(memory, index, ringSize);
        this.vring = new SplitVring(vq);
        addresses.mapRings(vq);
        this.slots = new BufferSlots(memory, addresses, ringSize, slotSize, Access.RO);
        for (int i = 0; i < ringSize; i++) {
            vq.setDesc(i, slots.dev(i), 0, 0, 0);
        }
        this.layout = addresses.layout(vq, slots.lo, slots.hi);
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

    @Override
    public long slotGpa(int id) {
        return slots.gpa(id);
    }

    @Override
    public int take() {
        reclaim();
        int id = slots.take();
        if (id >= 0) {
            slots.clearNetHeader(id);
        }
        return id;
    }

    @Override
    public void publish(int id, int len, VringNotifier notifier) {
        vq.setDescLen(id, VirtioNetFrontend.NET_HDR_SIZE + len);
        vq.addAvail(id);
        vq.publish();
        if (notifier != null && (vq.usedFlags() & 1) == 0) {
            notifier.kick();
        }
    }

    /** Takes back the slots the device used; an id it does not hold is the device's fault. */
    int reclaim() {
        int n = vq.usedPending();
        for (int k = 0; k < n; k++) {
            slots.giveBack(vq.usedId(k), vq.index);
        }
        vq.consumeUsed(n);
        return n;
    }

    @Override
    public int inFlight() {
        reclaim();
        return slots.outCount();
    }
}
