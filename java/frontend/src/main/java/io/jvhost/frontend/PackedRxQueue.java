package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;

/**
 * A receive queue on a packed vring, every buffer a single device-writable descriptor mapped
 * read-write: with mergeable buffers, {@code ringSize} buffers of {@code rxBufferSize} bytes (a
 * frame spans {@code num_buffers} of them, one used descriptor each); without, one contiguous
 * buffer that holds a header and a whole frame per {@code ceil((header + maxFrameSize) / page)}
 * ring slots (the same memory as the split layout's page chains). Every used descriptor is checked
 * before it is trusted.
 */
final class PackedRxQueue implements RxRing {
    private static final int HDR = VirtioNetFrontend.NET_HDR_SIZE;

    final PackedRing ring;
    private final Vring vring;
    private final VringLayout layout;
    private final GuestMemory memory;
    private final DeviceAddresses addresses;
    private final boolean mergeable;
    private final long[] bufGpa;
    private final int[] bufLen;
    private final boolean[] posted;
    private final int buffers;

    PackedRxQueue(GuestMemory memory, DeviceAddresses addresses, int index, int ringSize, boolean mergeable,
            int rxBufferSize, int maxFrameSize) {
        this.memory = memory;
        this.addresses = addresses;
        this.mergeable = mergeable;
        this.ring = new PackedRing(memory, index, ringSize);
        this.vring = new PackedVring(ring);
        addresses.mapRings(ring);
        long lo = Long.MAX_VALUE;
        long hi = 0;
        int page = GuestMemory.PAGE_SIZE;
        if (mergeable) {
            buffers = ringSize;
            bufGpa = new long[buffers];
            bufLen = new int[buffers];
            int perBlock = Math.max(1, page / rxBufferSize);
            int block = Math.max(rxBufferSize, page);
            for (int i = 0; i < buffers; i += perBlock) {
                long gpa = memory.allocate(block, page);
                addresses.map(gpa, block, Access.RW);
                for (int k = 0; k < perBlock && i + k < buffers; k++) {
                    bufGpa[i + k] = gpa + (long) k * rxBufferSize;
                    bufLen[i + k] = rxBufferSize;
                }
                lo = Math.min(lo, gpa);
                hi = Math.max(hi, gpa + block);
            }
        } else {
            int pages = (HDR + maxFrameSize + page - 1) / page;
            buffers = ringSize / pages;
            if (buffers == 0) {
                throw new IllegalArgumentException("ring size " + ringSize + " cannot hold one receive buffer of "
                        + pages + " pages; raise ringSize or lower maxFrameSize");
            }
            bufGpa = new long[buffers];
            bufLen = new int[buffers];
            for (int i = 0; i < buffers; i++) {
                long gpa = memory.allocate((long) pages * page, page);
                addresses.map(gpa, (long) pages * page, Access.RW);
                bufGpa[i] = gpa;
                bufLen[i] = pages * page;
                lo = Math.min(lo, gpa);
                hi = Math.max(hi, gpa + (long) pages * page);
            }
        }
        posted = new boolean[buffers];
        for (int i = 0; i < buffers; i++) {
            post(i);
        }
        this.layout = addresses.layout(ring, lo, hi);
    }

    private void post(int id) {
        posted[id] = true;
        ring.makeAvailable(addresses.dev(bufGpa[id]), bufLen[id], id, PackedRing.DESC_F_WRITE);
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
        int id0 = checkedId(ring.usedId());
        int nbufs = 1;
        if (mergeable) {
            nbufs = numBuffers(id0);
            if (nbufs < 1 || nbufs > buffers) {
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
            int id = checkedId(ring.usedIdAt(k));
            int len = ring.usedLenAt(k);
            if (len < 0 || len > bufLen[id] || (k == 0 && len < HDR)) {
                throw new IllegalStateException("backend returned used len " + len + " for a buffer of " + bufLen[id]
                        + " bytes on vring " + ring.index);
            }
            total += len;
        }
        return (int) (total - HDR);
    }

    private int numBuffers(int id) {
        long g = bufGpa[id];
        return Short.toUnsignedInt(memory.bufferOf(g, HDR).getShort(memory.offsetOf(g) + 10));
    }

    private int checkedId(int id) {
        if (id >= buffers || !posted[id]) {
            throw new IllegalStateException("backend returned used id " + id + " on vring " + ring.index);
        }
        return id;
    }

    @Override
    public void take(ByteBuffer dstBuf, byte[] dstArr, int dstOff) {
        int nbufs = mergeable ? numBuffers(ring.usedId()) : 1;
        int out = dstOff;
        for (int k = 0; k < nbufs; k++) {
            int id = ring.usedIdAt(k);
            int skip = k == 0 ? HDR : 0;
            int copy = ring.usedLenAt(k) - skip;
            long g = bufGpa[id] + skip;
            ByteBuffer src = memory.bufferOf(g, copy);
            int so = memory.offsetOf(g);
            if (dstBuf != null) {
                dstBuf.put(dstBuf.position(), src, so, copy);
                dstBuf.position(dstBuf.position() + copy);
            } else {
                src.get(so, dstArr, out, copy);
                out += copy;
            }
        }
        // ids first (the used descriptors are overwritten as buffers are posted again)
        int first = ring.nextUsed();
        ring.consumeUsed(nbufs);
        for (int k = 0; k < nbufs; k++) {
            int id = ring.idAt(first + k);
            posted[id] = false;
            post(id);
        }
    }

    @Override
    public int nextHead() {
        return ring.idAt(ring.nextUsed());
    }

    @Override
    public long descGpa(int id) {
        return bufGpa[id];
    }

    @Override
    public int descLen(int id) {
        return bufLen[id];
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
