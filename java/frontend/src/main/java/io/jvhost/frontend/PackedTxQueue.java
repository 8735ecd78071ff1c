package io.jvhost.frontend;

/**
 * A transmit queue on a packed vring: one slot (virtio-net header + frame, mapped read-only for
 * the device) per buffer id, each buffer a single descriptor. A slot comes back when the device
 * writes a used descriptor with its id.
 */
final class PackedTxQueue extends TxRing {
    final PackedRing ring;

    PackedTxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this(memory, addresses, new PackedRing(memory, index, ringSize), slotSize);
    }

    private PackedTxQueue(GuestMemory memory, DeviceAddresses addresses, PackedRing ring, int slotSize) {
        super(memory, addresses, new PackedVring(ring), slotSize);
        this.ring = ring;
    }

    @Override
    void publish(int id, int len, VringNotifier notifier) {
        ring.makeAvailable(slots.dev(id), VirtioNetFrontend.NET_HDR_SIZE + len, id, 0);
        if (notifier != null && ring.deviceEventFlags() != PackedRing.EVENT_FLAGS_DISABLE) {
            notifier.kick();
        }
    }

    @Override
    int reclaim() {
        int n = 0;
        while (ring.hasUsed()) {
            slots.giveBack(ring.usedId(), ring.index);
            ring.consumeUsed(1);
            n++;
        }
        return n;
    }
}
