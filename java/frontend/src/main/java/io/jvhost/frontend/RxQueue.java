package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A receive virtqueue in one of virtio-net's two layouts: with mergeable buffers, single
 * descriptors of {@code rxBufferSize} bytes (a frame spans {@code num_buffers} of them); without,
 * chains of page-sized descriptors over one slot that holds a header and a whole frame. Slots are
 * mapped read-write for the device, all of them always posted, and every used element it returns
 * is checked before it is trusted.
 */
final class RxQueue extends SlotQueue implements RxRing {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    final SplitVirtqueue vq;
    private final boolean mergeable;
    /** Descriptors per slot; the chain of slot {@code s} is descriptors {@code s * chainLen ...}. */
    private final int chainLen;
    private final int descLen;

    RxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, boolean mergeable,
            int rxBufferSize, int maxFrameSize) {
        this(memory, addresses, new SplitVirtqueue(memory, index, ringSize), mergeable,
                mergeable ? 1 : BufferSlots.pages(HDR + maxFrameSize),
                mergeable ? rxBufferSize : GuestMemory.PAGE_SIZE);
    }

    private RxQueue(GuestMemory memory, DeviceAddresses addresses, SplitVirtqueue vq, boolean mergeable,
            int chainLen, int descLen) {
        super(memory, addresses, new SplitVring(vq), chains(vq.size, chainLen), chainLen * descLen, Access.RW);
        this.vq = vq;
        this.mergeable = mergeable;
        this.chainLen = chainLen;
        this.descLen = descLen;
        for (int s = 0; s < slots.count; s++) {
            int head = slots.take() * chainLen;
            for (int k = 0; k < chainLen; k++) {
                int id = head + k;
                boolean last = k == chainLen - 1;
                vq.setDesc(id, addresses.dev(descGpa(id)), descLen,
                        SplitVirtqueue.DESC_F_WRITE | (last ? 0 : SplitVirtqueue.DESC_F_NEXT), last ? 0 : id + 1);
            }
            vq.addAvail(head);
        }
        vq.publish();
    }

    private static int chains(int ringSize, int chainLen) {
        if (ringSize / chainLen == 0) {
            throw new IllegalArgumentException("ring size " + ringSize + " cannot hold one receive chain of "
                    + chainLen + " descriptors; raise ringSize or lower maxFrameSize");
        }
        return ringSize / chainLen;
    }

    @Override
    public int peek() {
        int pending = vq.usedPending();
        if (pending == 0) {
            return -1;
        }
        int nbufs = 1;
        if (mergeable) {
            nbufs = slots.numBuffers(checkedSlot(vq.usedId(0)));
            if (nbufs < 1 || nbufs > slots.count) {
                throw new IllegalStateException("backend wrote num_buffers=" + nbufs + " on vring " + vq.index);
            }
            if (pending < nbufs) {
                return -1;
            }
        }
        long total = 0;
        for (int k = 0; k < nbufs; k++) {
            checkedSlot(vq.usedId(k));
            int len = vq.usedLen(k);
            slots.checkUsedLen(len, k == 0, vq.index);
            total += len;
        }
        return (int) (total - HDR);
    }

    /** @return the slot whose chain starts at used id {@code id}, which must be one the device holds */
    private int checkedSlot(int id) {
        if (id % chainLen != 0 || !slots.isOut(id / chainLen)) {
            throw BufferSlots.badUsedId(id, vq.index);
        }
        return id / chainLen;
    }

    /**
     * Copies the frame {@link #peek()} measured out and posts its slots again at once (a slot's
     * pages are contiguous, so a chain is one copy).
     */
    @Override
    public void take(ByteBuffer dstBuf, byte[] dstArr, int dstOff) {
        int nbufs = mergeable ? slots.numBuffers(vq.usedId(0) / chainLen) : 1;
        int out = dstOff;
        for (int k = 0; k < nbufs; k++) {
            int head = vq.usedId(k);
            int skip = k == 0 ? HDR : 0;
            out = slots.copyOut(head / chainLen, skip, vq.usedLen(k) - skip, dstBuf, dstArr, out);
            vq.addAvail(head);
        }
        vq.consumeUsed(nbufs);
        vq.publish();
    }

    /** @return the head descriptor the device will write the next frame to */
    @Override
    public int nextHead() {
        return vq.availEntry(vq.lastUsed() + vq.usedPending());
    }

    @Override
    public long descGpa(int id) {
        return slots.gpa(id / chainLen) + (long) (id % chainLen) * descLen;
    }

    @Override
    public int descLen(int id) {
        return descLen;
    }

    @Override
    public int chainLen() {
        return chainLen;
    }
}
