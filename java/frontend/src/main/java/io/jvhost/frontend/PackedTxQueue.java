package io.jvhost.frontend;

import io.jvhost.protocol.Access;

/**
 * A transmit queue on a packed vring: one slot (virtio-net header + frame, mapped read-only for
 * the device) per buffer id, each buffer a single descriptor. A slot comes back when the device
 * writes a used descriptor with its id.
 */
final class PackedTxQueue implements TxRing {
    final PackedRing ring;
    private final Vring vring;
    private final VringLayout layout;
    private final BufferSlots slots;

    PackedTxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this.ring = new PackedRing(memory, index, ringSize);
        this.vring = new PackedVring(ring);
        addresses.mapRings(ring);
        this.slots = new BufferSlots(memory, addresses, ringSize, slotSize, Access.RO);
        this.layout = addresses.layout(ring, slots.lo, slots.hi);
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
        ring.makeAvailable(slots.dev(id), VirtioNetFrontend.NET_HDR_SIZE + len, id, 0);
        if (notifier != null && ring.deviceEventFlags() != PackedRing.EVENT_FLAGS_DISABLE) {
            notifier.kick();
        }
    }

    /** Takes back the slots the device used; an id it does not hold is the device's fault. */
    int reclaim() {
        int n = 0;
        while (ring.hasUsed()) {
            slots.giveBack(ring.usedId(), ring.index);
            ring.consumeUsed(1);
            n++;
        }
        return n;
    }

    @Override
    public int inFlight() {
        reclaim();
        return slots.outCount();
    }

    @Override
    public int[] usedElement(int pos) {
        return new int[] {ring.idAt(pos), ring.lenAt(pos)};
    }

    @Override
    public int usedConsumed() {
        return ring.usedCount();
    }
}
