package io.jvhost.mbuf;

import static io.jvhost.internal.UnsafeMemory.BYTE_ARRAY_BASE;
import static io.jvhost.internal.UnsafeMemory.UNSAFE;

import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MbufLayout;
import io.jvhost.internal.NativeMbuf;

/**
 * A view of one packet in a {@link PacketBatch} slot: its length and bytes, read and written in
 * place in the mbuf (segment chains included), with every bound checked. A view stays attached to
 * its slot, so it shows whatever packet the slot holds now.
 */
public final class Packet {
    private final MbufArray batch;
    private final int index;

    Packet(MbufArray batch, int index) {
        this.batch = batch;
        this.index = index;
    }

    /** @throws IllegalStateException if the batch is closed or the slot is empty now */
    private long mbuf() {
        return batch.mbuf(index);
    }

    /** The next segment; a chain shorter than its packet length says is refused, not followed. */
    private static long next(long m) {
        long next = UNSAFE.getLong(m + MbufLayout.NEXT);
        if (next == 0) {
            throw new IllegalStateException("mbuf chain ends before the packet length it states");
        }
        return next;
    }

    /** @return the packet's length in bytes, all segments */
    public int length() {
        return UNSAFE.getInt(mbuf() + MbufLayout.PKT_LEN);
    }

    /**
     * @return the address of the first segment's data in this process (for DPDK-level work, e.g.
     *     comparing with a vhost device's translations)
     */
    public long dataAddress() {
        return dataAddress(mbuf());
    }

    /** @return the number of segments (chained mbufs) */
    public int segments() {
        return UNSAFE.getShort(mbuf() + MbufLayout.NB_SEGS) & 0xffff;
    }

    /**
     * @param offset 0 to length() - 1
     * @return that byte
     */
    public byte getByte(int offset) {
        long m = mbuf();
        checkRange(offset, 1, UNSAFE.getInt(m + MbufLayout.PKT_LEN));
        while (true) {
            int dataLen = UNSAFE.getShort(m + MbufLayout.DATA_LEN) & 0xffff;
            if (offset < dataLen) {
                return UNSAFE.getByte(dataAddress(m) + offset);
            }
            offset -= dataLen;
            m = next(m);
        }
    }

    /**
     * Copies the whole packet into a new array (allocates: not for the hot path).
     *
     * @return the packet's bytes
     */
    public byte[] toByteArray() {
        byte[] b = new byte[length()];
        copyTo(0, b, 0, b.length);
        return b;
    }

    /**
     * Copies {@code length} bytes from {@code offset} in the packet into dst.
     *
     * @param offset where in the packet
     * @param dst destination
     * @param dstOffset where in dst
     * @param length how many
     */
    public void copyTo(int offset, byte[] dst, int dstOffset, int length) {
        long m = mbuf();
        checkRange(offset, length, UNSAFE.getInt(m + MbufLayout.PKT_LEN));
        checkRange(dstOffset, length, dst.length);
        while (length > 0) {
            int dataLen = UNSAFE.getShort(m + MbufLayout.DATA_LEN) & 0xffff;
            if (offset >= dataLen) {
                offset -= dataLen;
            } else {
                int n = Math.min(length, dataLen - offset);
                UNSAFE.copyMemory(null, dataAddress(m) + offset, dst, BYTE_ARRAY_BASE + dstOffset, n);
                dstOffset += n;
                length -= n;
                offset = 0;
            }
            if (length > 0) {
                m = next(m);
            }
        }
    }

    /**
     * Sets the packet's content to src[off, off + length): the packet must be a fresh or
     * single-segment one; segments are added from its own pool when the data does not fit in one.
     *
     * @param src the bytes
     * @param off where in src
     * @param length how many (at most 65535 per segment; 0 allowed)
     * @throws IllegalStateException if the packet already has several segments, or its pool is
     *     out of mbufs for the extra segments
     */
    public void setData(byte[] src, int off, int length) {
        long head = mbuf();
        checkRange(off, length, src.length);
        int segs = UNSAFE.getShort(head + MbufLayout.NB_SEGS) & 0xffff;
        if (segs != 1) {
            throw new IllegalStateException("setData needs a single-segment packet; this one has " + segs);
        }
        long m = head;
        int written = 0;
        while (true) {
            int room = (UNSAFE.getShort(m + MbufLayout.BUF_LEN) & 0xffff) - (UNSAFE.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
            int n = Math.min(room, length - written);
            UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + off + written, null, dataAddress(m), n);
            UNSAFE.putShort(m + MbufLayout.DATA_LEN, (short) n);
            written += n;
            if (written == length) {
                break;
            }
            // the rest goes into segments from the packet's own pool (rare: frames over one mbuf)
            long seg = NativeMbuf.appendSegment(UNSAFE.getLong(head + MbufLayout.POOL), head);
            if (seg == 0) {
                throw new IllegalStateException("no mbuf left in the pool for segment "
                        + ((UNSAFE.getShort(head + MbufLayout.NB_SEGS) & 0xffff) + 1));
            }
            m = seg;
        }
        UNSAFE.putInt(head + MbufLayout.PKT_LEN, length);
    }

    /**
     * Sets a single-segment packet's length without writing its bytes: the bytes past what was
     * last written are whatever the buffer holds (e.g. a generator that writes only headers, as
     * dpdk-testpmd's txonly does).
     *
     * @param length new length, at most the segment's room (buffer length minus headroom)
     * @throws IllegalStateException if the packet has several segments
     */
    public void setLength(int length) {
        long m = mbuf();
        int segs = UNSAFE.getShort(m + MbufLayout.NB_SEGS) & 0xffff;
        if (segs != 1) {
            throw new IllegalStateException("setLength needs a single-segment packet; this one has " + segs);
        }
        int room = (UNSAFE.getShort(m + MbufLayout.BUF_LEN) & 0xffff) - (UNSAFE.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
        if (length < 0 || length > room) {
            throw new IndexOutOfBoundsException("length " + length + " outside [0, " + room + "]");
        }
        UNSAFE.putShort(m + MbufLayout.DATA_LEN, (short) length);
        UNSAFE.putInt(m + MbufLayout.PKT_LEN, length);
    }

    private static long dataAddress(long m) {
        return UNSAFE.getLong(m + MbufLayout.BUF_ADDR) + (UNSAFE.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
    }

    private static void checkRange(int offset, int length, int size) {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IndexOutOfBoundsException("range [" + offset + ", +" + length + ") outside [0, " + size + ")");
        }
    }

    @Override
    public String toString() {
        if (!batch.isOpen()) {
            return "Packet[closed batch]";
        }
        return index < batch.count() ? "Packet[" + length() + " B, " + segments() + " seg]" : "Packet[empty slot]";
    }
}
