package io.jvhost.frontend;

/**
 * A transmit virtqueue: one slot (a virtio-net header and a frame, mapped read-only for the
 * device) per descriptor, descriptor {@code i} pointing at slot {@code i} for good. Slots come back
 * when the device marks them used.
 */
final class TxQueue extends TxRing {
    final SplitVirtqueue vq;

    TxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this(memory, addresses, new SplitVirtqueue(memory, index, ringSize), slotSize);
    }

    private TxQueue(GuestMemory memory, DeviceAddresses addresses, SplitVirtqueue vq, int slotSize) {
        super(memory, addresses, new SplitVring(vq), slotSize);
        this.vq = vq;
        for (int i = 0; i < vq.size; i++) {
            vq.setDesc(i, slots.dev(i), 0, 0, 0);
        }
    }

    @Override
    void publish(int id, int len, VringNotifier notifier) {
        vq.setDescLen(id, VirtioNetFrontend.NET_HDR_SIZE + len);
        vq.addAvail(id);
        vq.publish();
        if (notifier != null && (vq.usedFlags() & 1) == 0) {
            notifier.kick();
        }
    }

    @Override
    int reclaim() {
        int n = vq.usedPending();
        for (int k = 0; k < n; k++) {
            slots.giveBack(vq.usedId(k), vq.index);
        }
        vq.consumeUsed(n);
        return n;
    }
}
