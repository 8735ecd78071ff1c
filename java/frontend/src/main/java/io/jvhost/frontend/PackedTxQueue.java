package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A transmit queue on a packed vring: one slot (virtio-net header + frame, mapped read-only for
 * the device) per buffer id, each buffer a single descriptor. A slot comes back when the device
 * writes a used descriptor with its id.
 */
final class PackedTxQueue implements TxRing {
    final PackedRing ring;
    private final Vring vring;
    private final VringLayout layout;
    private final GuestMemory memory;
    private final DeviceAddresses addresses;
    private final long[] slotGpa;
    private final int[] free;
    private final boolean[] inFlight;
    private int freeTop;

    PackedTxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, int slotSize) {
        this.memory = memory;
        this.addresses = addresses;
        this.ring = new PackedRing(memory, index, ringSize);
        this.vring = new PackedVring(ring);
        addresses.mapRings(ring);
        this.slotGpa = new long[ringSize];
        this.free = new int[ringSize];
        this.inFlight = new boolean[ringSize];
        long lo = Long.MAX_VALUE;
        long hi = 0;
        for (int i = 0; i < ringSize; i++) {
            long gpa = memory.allocate(slotSize, GuestMemory.PAGE_SIZE);
            slotGpa[i] = gpa;
            addresses.map(gpa, slotSize, Access.RO);
            free[freeTop++] = ringSize - 1 - i;
            lo = Math.min(lo, gpa);
            hi = Math.max(hi, gpa + slotSize);
        }
        this.layout = addresses.layout(ring, lo, hi);
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
        return slotGpa[id];
    }

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

    @Override
    public void publish(int id, int len, VringNotifier notifier) {
        inFlight[id] = true;
        ring.makeAvailable(addresses.dev(slotGpa[id]), VirtioNetFrontend.NET_HDR_SIZE + len, id, 0);
        if (notifier != null && ring.deviceEventFlags() != PackedRing.EVENT_FLAGS_DISABLE) {
            notifier.kick();
        }
    }

    /** Takes back the slots the device used; an id not in flight is the device's fault. */
    int reclaim() {
        int n = 0;
        while (ring.hasUsed()) {
            int id = ring.usedId();
            if (id >= ring.size || !inFlight[id]) {
                throw new IllegalStateException("backend returned used id " + id + " on vring " + ring.index);
            }
            inFlight[id] = false;
            free[freeTop++] = id;
            ring.consumeUsed(1);
            n++;
        }
        return n;
    }

    @Override
    public int inFlight() {
        reclaim();
        return ring.size - freeTop;
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
