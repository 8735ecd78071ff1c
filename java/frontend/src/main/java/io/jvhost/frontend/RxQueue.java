package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A receive virtqueue in one of virtio-net's two layouts: with mergeable buffers, single
 * descriptors of {@code rxBufferSize} bytes (a frame spans {@code num_buffers} of them); without,
 * chains of page-sized descriptors that each hold a header and a whole frame. Buffers are mapped
 * read-write for the device and every used element it returns is checked before it is trusted.
 */
final class RxQueue implements RxRing {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    final SplitVirtqueue vq;
    final VringLayout layout;
    private final Vring vring;
    private final GuestMemory memory;
    private final boolean mergeable;
    private final long[] descGpa;
    private final int[] descLen;
    private final int chainLen;
    private final int heads;

    RxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, boolean mergeable,
            int rxBufferSize, int maxFrameSize) {
        this.memory = memory;
        this.mergeable = mergeable;
        this.vq = new SplitVirtqueue(memory, index, ringSize);
        this.vring = new SplitVring(vq);
        addresses.mapRings(vq);
        this.descGpa = new long[ringSize];
        this.descLen = new int[ringSize];
        long lo = Long.MAX_VALUE;
        long hi = 0;
        int page = GuestMemory.PAGE_SIZE;
        if (mergeable) {
            chainLen = 1;
            int perBlock = Math.max(1, page / rxBufferSize);
            int block = Math.max(rxBufferSize, page);
            for (int i = 0; i < ringSize; i += perBlock) {
                long gpa = memory.allocate(block, page);
                addresses.map(gpa, block, Access.RW);
                for (int k = 0; k < perBlock && i + k < ringSize; k++) {
                    descGpa[i + k] = gpa + (long) k * rxBufferSize;
                    descLen[i + k] = rxBufferSize;
                    vq.setDesc(i + k, addresses.dev(descGpa[i + k]), rxBufferSize, SplitVirtqueue.DESC_F_WRITE, 0);
                }
                lo = Math.min(lo, gpa);
                hi = Math.max(hi, gpa + block);
            }
            heads = ringSize;
        } else {
            chainLen = (HDR + maxFrameSize + page - 1) / page;
            heads = ringSize / chainLen;
            if (heads == 0) {
                throw new IllegalArgumentException("ring size " + ringSize + " cannot hold one receive chain of "
                        + chainLen + " descriptors; raise ringSize or lower maxFrameSize");
            }
            for (int h = 0; h < heads; h++) {
                long gpa = memory.allocate((long) chainLen * page, page);
                addresses.map(gpa, (long) chainLen * page, Access.RW);
                for (int k = 0; k < chainLen; k++) {
                    int id = h * chainLen + k;
                    descGpa[id] = gpa + (long) k * page;
                    descLen[id] = page;
                    boolean last = k == chainLen - 1;
                    vq.setDesc(id, addresses.dev(descGpa[id]), page,
                            SplitVirtqueue.DESC_F_WRITE | (last ? 0 : SplitVirtqueue.DESC_F_NEXT), last ? 0 : id + 1);
                }
                lo = Math.min(lo, gpa);
                hi = Math.max(hi, gpa + (long) chainLen * page);
            }
        }
        for (int h = 0; h < heads; h++) {
            vq.addAvail(h * chainLen);
        }
        vq.publish();
        this.layout = addresses.layout(vq, lo, hi);
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

    /** @return the length of the next complete received frame (without header), or -1 */
    @Override
    public int peek() {
        int pending = vq.usedPending();
        if (pending == 0) {
            return -1;
        }
        int id0 = checkedId(vq.usedId(0));
        int nbufs = 1;
        if (mergeable) {
            nbufs = numBuffers(id0);
            if (nbufs < 1 || nbufs > heads) {
                throw new IllegalStateException("backend wrote num_buffers=" + nbufs + " on vring " + vq.index);
            }
            if (pending < nbufs) {
                return -1;
            }
        }
        long total = 0;
        for (int k = 0; k < nbufs; k++) {
            int id = checkedId(vq.usedId(k));
            int len = vq.usedLen(k);
            int cap = descLen[id] * chainLen;
            if (len < 0 || len > cap || (k == 0 && len < HDR)) {
                throw new IllegalStateException("backend returned used len " + len + " for a buffer of " + cap
                        + " bytes on vring " + vq.index);
            }
            total += len;
        }
        return (int) (total - HDR);
    }

    private int numBuffers(int head) {
        long g = descGpa[head];
        return Short.toUnsignedInt(memory.bufferOf(g, HDR).getShort(memory.offsetOf(g) + 10));
    }

    private int checkedId(int id) {
        if (id < 0 || id >= vq.size || id % chainLen != 0) {
            throw new IllegalStateException("backend returned used id " + id + " on vring " + vq.index);
        }
        return id;
    }

    /**
     * Copies the frame {@link #peek()} measured into {@code dstBuf} (from its position, which
     * advances) or {@code dstArr} (from {@code dstOff}), and gives its buffers back to the device.
     */
    @Override
    public void take(ByteBuffer dstBuf, byte[] dstArr, int dstOff) {
        int nbufs = mergeable ? numBuffers(vq.usedId(0)) : 1;
        int out = dstOff;
        for (int k = 0; k < nbufs; k++) {
            int head = vq.usedId(k);
            int left = vq.usedLen(k);
            int skip = k == 0 ? HDR : 0;
            for (int d = 0; d < chainLen && left > 0; d++) {
                int id = head + d;
                int n = Math.min(left, descLen[id]);
                long g = descGpa[id] + skip;
                int copy = n - skip;
                ByteBuffer src = memory.bufferOf(g, copy);
                int so = memory.offsetOf(g);
                if (dstBuf != null) {
                    dstBuf.put(dstBuf.position(), src, so, copy);
                    dstBuf.position(dstBuf.position() + copy);
                } else {
                    src.get(so, dstArr, out, copy);
                    out += copy;
                }
                left -= n;
                skip = 0;
            }
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
        return descGpa[id];
    }

    @Override
    public int descLen(int id) {
        return descLen[id];
    }

    @Override
    public int chainLen() {
        return chainLen;
    }
}
