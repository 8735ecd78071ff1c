package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A receive queue on a packed vring, every buffer a single device-writable descriptor over one
 * slot mapped read-write: with mergeable buffers, {@code ringSize} slots of {@code rxBufferSize}
 * bytes (a frame spans {@code num_buffers} of them, one used descriptor each); without, one slot
 * that holds a header and a whole frame per {@code ceil((header + maxFrameSize) / page)} ring
 * slots (the same memory as the split layout's page chains). All slots are always posted; every
 * used descriptor is checked before it is trusted.
 */
final class PackedRxQueue implements RxRing {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    final PackedRing ring;
    private final Vring vring;
    private final VringLayout layout;
    private final boolean mergeable;
    private final BufferSlots slots;

    PackedRxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, boolean mergeable,
            int rxBufferSize, int maxFrameSize) {
        this.mergeable = mergeable;
        this.ring = new PackedRing(memory, index, ringSize);
        this.vring = new PackedVring(ring);
        addresses.mapRings(ring);
        int page = GuestMemory.PAGE_SIZE;
        if (mergeable) {
            slots = new BufferSlots(memory, addresses, ringSize, rxBufferSize, Access.RW);
        } else {
            int pages = (HDR + maxFrameSize + page - 1) / page;
            if (ringSize / pages == 0) {
                throw new IllegalArgumentException("ring size " + ringSize + " cannot hold one receive buffer of "
                        + pages + " pages; raise ringSize or lower maxFrameSize");
            }
            slots = new BufferSlots(memory, addresses, ringSize / pages, pages * page, Access.RW);
        }
        for (int i = 0; i < slots.count; i++) {
            post(slots.take());
        }
        this.layout = addresses.layout(ring, slots.lo, slots.hi);
    }

    private void post(int id) {
        ring.makeAvailable(slots.dev(id), slots.size, id, PackedRing.DESC_F_WRITE);
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
    public int peek() {
        if (!ring.hasUsed()) {
            return -1;
        }
        int nbufs = 1;
        if (mergeable) {
            nbufs = slots.numBuffers(checkedId(ring.usedId()));
            if (nbufs < 1 || nbufs > slots.count) {
                throw new IllegalStateException("backend wrote num_buffers=" + nbufs + " on vring " + ring.index);
            }
            if (!ring.hasUsedAt(nbufs - 1)) {
                return -1;
            }
        }
        long total = 0;
        for (int k = 0; k < nbufs; k++) {
            if (k > 0 && !ring.hasUsedAt(k)) {
                return -1;
            }
            checkedId(ring.usedIdAt(k));
            int len = ring.usedLenAt(k);
            slots.checkUsedLen(len, k == 0, ring.index);
            total += len;
        }
        return (int) (total - HDR);
    }

    private int checkedId(int id) {
        if (!slots.isOut(id)) {
            throw BufferSlots.badUsedId(id, ring.index);
        }
        return id;
    }

    @Override
    public void take(ByteBuffer dstBuf, byte[] dstArr, int dstOff) {
        int nbufs = mergeable ? slots.numBuffers(ring.usedId()) : 1;
        int out = dstOff;
        for (int k = 0; k < nbufs; k++) {
            int skip = k == 0 ? HDR : 0;
            out = slots.copyOut(ring.usedIdAt(k), skip, ring.usedLenAt(k) - skip, dstBuf, dstArr, out);
        }
        // ids first (the used descriptors are overwritten as buffers are posted again); the slots
        // stay with the device
        int first = ring.nextUsed();
        ring.consumeUsed(nbufs);
        for (int k = 0; k < nbufs; k++) {
            post(ring.idAt(first + k));
        }
    }

    @Override
    public int nextHead() {
        return ring.idAt(ring.nextUsed());
    }

    @Override
    public long descGpa(int id) {
        return slots.gpa(id);
    }

    @Override
    public int descLen(int id) {
        return slots.size;
    }

    @Override
    public int chainLen() {
        return 1;
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
