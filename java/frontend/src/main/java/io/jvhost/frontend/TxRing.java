package io.jvhost.frontend;

import io.jvhost.protocol.Access;

/**
 * A transmit queue over a split or a packed vring: one slot (header + frame, mapped read-only for
 * the device) per buffer id. Taking and counting slots is the same for both formats; publishing
 * and reclaiming them is ring-format logic.
 */
abstract class TxRing extends SlotQueue {
    TxRing(GuestMemory memory, DeviceAddresses addresses, Vring vring, int slotSize) {
        super(memory, addresses, vring, vring.size(), slotSize, Access.RO);
    }

    /** @return the GPA of slot {@code id} */
    final long slotGpa(int id) {
        return slots.gpa(id);
    }

    /** Takes a free slot and zeroes its virtio-net header; -1 if the ring is full. */
    final int take() {
        reclaim();
        return slots.takeCleared();
    }

    /** Makes slot {@code id}, with a frame of {@code len} bytes after its header, available; kicks if asked. */
    abstract void publish(int id, int len, VringNotifier notifier);

    /** @return slots handed to the device and not used yet */
    final int inFlight() {
        reclaim();
        return slots.outCount();
    }

    /**
     * Takes back the slots the device used; an id it does not hold is the device's fault.
     *
     * @return how many came back
     */
    abstract int reclaim();
}
