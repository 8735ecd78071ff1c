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
final class PackedRxQueue extends SlotQueue implements RxRing {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    final PackedRing ring;
    private final boolean mergeable;

    PackedRxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, boolean mergeable,
            int rxBufferSize, int maxFrameSize) {
        this(memory, addresses, new PackedRing(memory, index, ringSize), mergeable,
                mergeable ? 0 : BufferSlots.pages(HDR + maxFrameSize), rxBufferSize);
    }

    /** @param pages pages per slot without mergeable buffers (0 with them) */
    private PackedRxQueue(GuestMemory memory, DeviceAddresses addresses, PackedRing ring, boolean mergeable,
            int pages, int rxBufferSize) {
        super(memory, addresses, new PackedVring(ring), mergeable ? ring.size : buffers(ring.size, pages),
                mergeable ? rxBufferSize : pages * GuestMemory.PAGE_SIZE, Access.RW);
        this.ring = ring;
        this.mergeable = mergeable;
        for (int i = 0; i < slots.count; i++) {
            post(slots.take());
        }
    }

    private static int buffers(int ringSize, int pages) {
        if (ringSize / pages == 0) {
            throw new IllegalArgumentException("ring size " + ringSize + " cannot hold one receive buffer of "
                    + pages + " pages; raise ringSize or lower maxFrameSize");
        }
        return ringSize / pages;
    }

    private void post(int id) {
        ring.makeAvailable(slots.dev(id), slots.size, id, PackedRing.DESC_F_WRITE);
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
}
