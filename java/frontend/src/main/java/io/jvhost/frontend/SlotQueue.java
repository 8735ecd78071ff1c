package io.jvhost.frontend;

import io.jvhost.protocol.Access;

/**
 * What every queue has, whatever its ring format and direction: its vring, the slots that follow
 * it in guest memory, and where both are. Subclasses keep only their ring format's logic.
 */
abstract class SlotQueue {
    final BufferSlots slots;
    private final Vring vring;
    private final VringLayout layout;

    /**
     * Maps the vring (already allocated, so that its slots come after it in guest memory) and
     * carves and maps the slots.
     */
    SlotQueue(GuestMemory memory, DeviceAddresses addresses, Vring vring, int slotCount, int slotSize,
            Access access) {
        this.vring = vring;
        addresses.mapRings(vring);
        this.slots = new BufferSlots(memory, addresses, slotCount, slotSize, access);
        this.layout = addresses.layout(vring, slots.lo, slots.hi);
    }

    /** @return the vring */
    public final Vring vring() {
        return vring;
    }

    /** @return where the vring and its slots are */
    public final VringLayout layout() {
        return layout;
    }
}
