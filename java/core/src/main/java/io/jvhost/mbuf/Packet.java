package io.jvhost.mbuf;

import static io.jvhost.internal.NativeMemory.MEM;

import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MbufLayout;
import io.jvhost.internal.NativeMbuf;
import java.nio.ByteBuffer;

/**
 * A view of one packet in a {@link PacketBatch} slot: its length and bytes, read and written in
 * place in the mbuf (segment chains included), with every bound checked. A view stays attached to
 * its slot, so it shows whatever packet the slot holds now.
 */
public final class Packet {
    private static final boolean LITTLE_ENDIAN = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;

    private final MbufArray batch;
    private final int index;
    /*
     * What the slot held when last looked at, trusted while the batch's generation stays the same
     * (it moves on with every burst, fill, drop and close of the batch, and every length or offset
     * change made here): a typed access then reads packet memory once, instead of once more for
     * each of the mbuf pointer, data length, buffer address and data offset. With FFM each of those
     * reads costs checks that Unsafe's do not, and a header parser makes dozens per packet.
     */
    private long seenGeneration = -1;
    private long seenMbuf;
    private long seenData;
    private int seenDataLen;
    private int seenPktLen;

    Packet(MbufArray batch, int index) {
        this.batch = batch;
        this.index = index;
    }

    /** @throws IllegalStateException if the batch is closed or the slot is empty now */
    private long mbuf() {
        if (seenGeneration != batch.generation()) {
            look();
        }
        return seenMbuf;
    }

    /** Reads the slot's mbuf again; the generation first, so a change meanwhile is not missed. */
    private void look() {
        long generation = batch.generation();
        long m = batch.mbuf(index);
        seenMbuf = m;
        seenData = dataAddress(m);
        seenDataLen = dataLen(m);
        seenPktLen = pktLen(m);
        seenGeneration = generation;
    }

    /** The mbuf, for a change of its lengths or offsets: every view of the batch reads again after it. */
    private long mbufToChange() {
        long m = batch.mbuf(index);
        batch.changed();
        return m;
    }

    /** The next segment; a chain shorter than its packet length says is refused, not followed. */
    private static long next(long m) {
        long next = MEM.getLong(m + MbufLayout.NEXT);
        if (next == 0) {
            throw new IllegalStateException("mbuf chain ends before the packet length it states");
        }
        return next;
    }

    /** @return the packet's length in bytes, all segments */
    public int length() {
        mbuf();
        return seenPktLen;
    }

    /**
     * @return the address of the first segment's data in this process (for DPDK-level work, e.g.
     *     comparing with a vhost device's translations)
     */
    public long dataAddress() {
        mbuf();
        return seenData;
    }

    /** @return the number of segments (chained mbufs) */
    public int segments() {
        return MEM.getShort(mbuf() + MbufLayout.NB_SEGS) & 0xffff;
    }

    /**
     * @param offset 0 to length() - 1
     * @return that byte
     */
    public byte getByte(int offset) {
        long a = inFirstSegment(offset, 1);
        return a != 0 ? MEM.getByte(a) : (byte) getSlow(mbuf(), offset, 1);
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
        copyArray(offset, dst, dstOffset, length, true);
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
        long head = mbufToChange();
        checkRange(off, length, src.length);
        int segs = MEM.getShort(head + MbufLayout.NB_SEGS) & 0xffff;
        if (segs != 1) {
            throw new IllegalStateException("setData needs a single-segment packet; this one has " + segs);
        }
        long m = head;
        int written = 0;
        while (true) {
            int room = (MEM.getShort(m + MbufLayout.BUF_LEN) & 0xffff) - (MEM.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
            int n = Math.min(room, length - written);
            MEM.copyFromArray(src, off + written, dataAddress(m), n);
            MEM.putShort(m + MbufLayout.DATA_LEN, (short) n);
            written += n;
            if (written == length) {
                break;
            }
            // the rest goes into segments from the packet's own pool (rare: frames over one mbuf)
            long seg = NativeMbuf.appendSegment(MEM.getLong(head + MbufLayout.POOL), head);
            if (seg == 0) {
                throw new IllegalStateException("no mbuf left in the pool for segment "
                        + ((MEM.getShort(head + MbufLayout.NB_SEGS) & 0xffff) + 1));
            }
            m = seg;
        }
        MEM.putInt(head + MbufLayout.PKT_LEN, length);
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
        long m = mbufToChange();
        int segs = MEM.getShort(m + MbufLayout.NB_SEGS) & 0xffff;
        if (segs != 1) {
            throw new IllegalStateException("setLength needs a single-segment packet; this one has " + segs);
        }
        int room = (MEM.getShort(m + MbufLayout.BUF_LEN) & 0xffff) - (MEM.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
        if (length < 0 || length > room) {
            throw new IndexOutOfBoundsException("length " + length + " outside [0, " + room + "]");
        }
        MEM.putShort(m + MbufLayout.DATA_LEN, (short) length);
        MEM.putInt(m + MbufLayout.PKT_LEN, length);
    }

    // --- typed access in network byte order, and in-place bulk copies -------------------------

    /**
     * @param offset where in the packet, 0 to length() - 2
     * @return the 16 bits there, big-endian (network byte order)
     * @throws IndexOutOfBoundsException if they are not all inside the packet
     */
    public short getShort(int offset) {
        long a = inFirstSegment(offset, 2);
        return a != 0 ? (short) fromNetwork(MEM.getShort(a), 2) : (short) getSlow(mbuf(), offset, 2);
    }

    /**
     * @param offset where in the packet, 0 to length() - 4
     * @return the 32 bits there, big-endian (network byte order)
     * @throws IndexOutOfBoundsException if they are not all inside the packet
     */
    public int getInt(int offset) {
        long a = inFirstSegment(offset, 4);
        return a != 0 ? (int) fromNetwork(MEM.getInt(a), 4) : (int) getSlow(mbuf(), offset, 4);
    }

    /**
     * @param offset where in the packet, 0 to length() - 8
     * @return the 64 bits there, big-endian (network byte order)
     * @throws IndexOutOfBoundsException if they are not all inside the packet
     */
    public long getLong(int offset) {
        long a = inFirstSegment(offset, 8);
        return a != 0 ? fromNetwork(MEM.getLong(a), 8) : getSlow(mbuf(), offset, 8);
    }

    /**
     * @param offset where in the packet, 0 to length() - 1
     * @param value the byte to write there
     * @throws IndexOutOfBoundsException if offset is outside the packet
     */
    public void putByte(int offset, byte value) {
        long a = inFirstSegment(offset, 1);
        if (a != 0) {
            MEM.putByte(a, value);
        } else {
            putSlow(mbuf(), offset, 1, value);
        }
    }

    /**
     * @param offset where in the packet, 0 to length() - 2
     * @param value written big-endian (network byte order)
     * @throws IndexOutOfBoundsException if the two bytes are not both inside the packet
     */
    public void putShort(int offset, short value) {
        long a = inFirstSegment(offset, 2);
        if (a != 0) {
            MEM.putShort(a, (short) toNetwork(value, 2));
        } else {
            putSlow(mbuf(), offset, 2, value);
        }
    }

    /**
     * @param offset where in the packet, 0 to length() - 4
     * @param value written big-endian (network byte order)
     * @throws IndexOutOfBoundsException if the four bytes are not all inside the packet
     */
    public void putInt(int offset, int value) {
        long a = inFirstSegment(offset, 4);
        if (a != 0) {
            MEM.putInt(a, (int) toNetwork(value, 4));
        } else {
            putSlow(mbuf(), offset, 4, value);
        }
    }

    /**
     * @param offset where in the packet, 0 to length() - 8
     * @param value written big-endian (network byte order)
     * @throws IndexOutOfBoundsException if the eight bytes are not all inside the packet
     */
    public void putLong(int offset, long value) {
        long a = inFirstSegment(offset, 8);
        if (a != 0) {
            MEM.putLong(a, toNetwork(value, 8));
        } else {
            putSlow(mbuf(), offset, 8, value);
        }
    }

    /**
     * Copies {@code dst.remaining()} bytes from {@code offset} in the packet into {@code dst}, whose
     * position advances by that many.
     *
     * @param offset where in the packet
     * @param dst a heap or direct buffer
     * @throws IndexOutOfBoundsException if the range is not inside the packet
     * @throws java.nio.ReadOnlyBufferException if dst is read-only
     */
    public void copyTo(int offset, ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new java.nio.ReadOnlyBufferException();
        }
        copy(offset, dst, dst.remaining(), true);
    }

    /**
     * Overwrites {@code length} bytes of the packet at {@code offset} with src[srcOffset, srcOffset +
     * length): in place, the packet's length does not change (see {@link #append(int)}).
     *
     * @param offset where in the packet
     * @param src the bytes
     * @param srcOffset where in src
     * @param length how many
     * @throws IndexOutOfBoundsException if either range is outside its packet or array
     */
    public void copyFrom(int offset, byte[] src, int srcOffset, int length) {
        copyArray(offset, src, srcOffset, length, false);
    }

    /** Copies between the packet and an array range; out: packet -> array. One copy in the first segment. */
    private void copyArray(int offset, byte[] array, int arrayOffset, int length, boolean out) {
        checkRange(arrayOffset, length, array.length);
        long a = inFirstSegment(offset, length);
        if (a != 0) {
            if (out) {
                MEM.copyToArray(a, array, arrayOffset, length);
            } else {
                MEM.copyFromArray(array, arrayOffset, a, length);
            }
            return;
        }
        long m = mbuf();
        checkRange(offset, length, seenPktLen);
        transfer(m, offset, array, arrayOffset, length, out);
    }

    /**
     * Overwrites {@code src.remaining()} bytes of the packet at {@code offset} with src's, whose
     * position advances by that many; in place, the packet's length does not change.
     *
     * @param offset where in the packet
     * @param src a heap or direct buffer
     * @throws IndexOutOfBoundsException if the range is not inside the packet
     */
    public void copyFrom(int offset, ByteBuffer src) {
        copy(offset, src, src.remaining(), false);
    }

    /** Copies between the packet and a buffer's remaining bytes; toBuffer: packet -> buffer. */
    private void copy(int offset, ByteBuffer buf, int length, boolean toBuffer) {
        long m = mbuf();
        checkRange(offset, length, seenPktLen);
        if (buf.hasArray()) {
            transfer(m, offset, buf.array(), buf.arrayOffset() + buf.position(), length, toBuffer);
        } else if (buf.isDirect()) {
            transfer(m, offset, null, MEM.address(buf) + buf.position(), length, toBuffer);
            java.lang.ref.Reference.reachabilityFence(buf);
        } else {
            throw new IllegalArgumentException("a read-only heap buffer cannot be read in place; use a byte[]");
        }
        buf.position(buf.position() + length);
    }

    /**
     * Copies {@code length} packet bytes from {@code offset} (checked by the caller) to or from
     * {@code array} at index {@code at}, or, when array is null, memory at address {@code at},
     * segment by segment.
     */
    private static void transfer(long m, int offset, byte[] array, long at, int length, boolean out) {
        int done = 0;
        while (done < length) {
            int dataLen = dataLen(m);
            if (offset >= dataLen) {
                offset -= dataLen;
            } else {
                int n = Math.min(length - done, dataLen - offset);
                long packet = dataAddress(m) + offset;
                if (array != null) {
                    if (out) {
                        MEM.copyToArray(packet, array, (int) (at + done), n);
                    } else {
                        MEM.copyFromArray(array, (int) (at + done), packet, n);
                    }
                } else if (out) {
                    MEM.copy(packet, at + done, n);
                } else {
                    MEM.copy(at + done, packet, n);
                }
                done += n;
                offset = 0;
            }
            if (done < length) {
                m = next(m);
            }
        }
    }

    // --- headers: DPDK's rte_pktmbuf_prepend/adj/trim/append, in Java -------------------------

    /**
     * Grows the packet at the front by {@code length} bytes taken from the first segment's headroom
     * ({@code rte_pktmbuf_prepend}), e.g. to push a header; the new bytes are whatever the buffer
     * held.
     *
     * @param length 0 to {@link #headroom()}
     * @throws IndexOutOfBoundsException if the headroom is smaller
     */
    public void prepend(int length) {
        long m = mbufToChange();
        int room = dataOff(m);
        if (length < 0 || length > room) {
            throw new IndexOutOfBoundsException("cannot prepend " + length + " bytes: headroom is " + room);
        }
        MEM.putShort(m + MbufLayout.DATA_OFF, (short) (room - length));
        MEM.putShort(m + MbufLayout.DATA_LEN, (short) (dataLen(m) + length));
        MEM.putInt(m + MbufLayout.PKT_LEN, pktLen(m) + length);
    }

    /**
     * Removes {@code length} bytes from the front of the packet ({@code rte_pktmbuf_adj}), e.g. to
     * pop a header; they must lie in the first segment.
     *
     * @param length 0 to the first segment's data length
     * @throws IndexOutOfBoundsException if the first segment is shorter
     */
    public void adj(int length) {
        long m = mbufToChange();
        int dataLen = dataLen(m);
        if (length < 0 || length > dataLen) {
            throw new IndexOutOfBoundsException("cannot remove " + length + " bytes from the front: the first segment"
                    + " holds " + dataLen);
        }
        MEM.putShort(m + MbufLayout.DATA_OFF, (short) (dataOff(m) + length));
        MEM.putShort(m + MbufLayout.DATA_LEN, (short) (dataLen - length));
        MEM.putInt(m + MbufLayout.PKT_LEN, pktLen(m) - length);
    }

    /**
     * Removes {@code length} bytes from the end of the packet ({@code rte_pktmbuf_trim}); they must
     * lie in the last segment.
     *
     * @param length 0 to the last segment's data length
     * @throws IndexOutOfBoundsException if the last segment is shorter
     */
    public void trim(int length) {
        long head = mbufToChange();
        long last = lastSegment(head);
        int dataLen = dataLen(last);
        if (length < 0 || length > dataLen) {
            throw new IndexOutOfBoundsException("cannot trim " + length + " bytes: the last segment holds " + dataLen);
        }
        MEM.putShort(last + MbufLayout.DATA_LEN, (short) (dataLen - length));
        MEM.putInt(head + MbufLayout.PKT_LEN, pktLen(head) - length);
    }

    /**
     * Grows the packet at the end by {@code length} bytes of the last segment's tailroom
     * ({@code rte_pktmbuf_append}); the new bytes are whatever the buffer held.
     *
     * @param length 0 to {@link #tailroom()}
     * @throws IndexOutOfBoundsException if the tailroom is smaller
     */
    public void append(int length) {
        long head = mbufToChange();
        long last = lastSegment(head);
        int room = tailroom(last);
        if (length < 0 || length > room) {
            throw new IndexOutOfBoundsException("cannot append " + length + " bytes: tailroom is " + room);
        }
        MEM.putShort(last + MbufLayout.DATA_LEN, (short) (dataLen(last) + length));
        MEM.putInt(head + MbufLayout.PKT_LEN, pktLen(head) + length);
    }

    /** @return bytes {@link #prepend(int)} can add: the first segment's headroom */
    public int headroom() {
        return dataOff(mbuf());
    }

    /** @return bytes {@link #append(int)} can add: the last segment's tailroom */
    public int tailroom() {
        return tailroom(lastSegment(mbuf()));
    }

    private static int tailroom(long m) {
        return (MEM.getShort(m + MbufLayout.BUF_LEN) & 0xffff) - dataOff(m) - dataLen(m);
    }

    private static long lastSegment(long m) {
        int segs = MEM.getShort(m + MbufLayout.NB_SEGS) & 0xffff;
        for (int i = 1; i < segs; i++) {
            m = next(m);
        }
        return m;
    }

    private static int pktLen(long m) {
        return MEM.getInt(m + MbufLayout.PKT_LEN);
    }

    private static int dataLen(long m) {
        return MEM.getShort(m + MbufLayout.DATA_LEN) & 0xffff;
    }

    private static int dataOff(long m) {
        return MEM.getShort(m + MbufLayout.DATA_OFF) & 0xffff;
    }

    /**
     * @return the address of packet bytes [offset, offset + size) when they lie in one segment
     *     (the common case), else 0; the range is inside the packet (checked by the caller)
     */
    private static long contiguous(long m, int offset, int size) {
        while (true) {
            int dataLen = dataLen(m);
            if (offset < dataLen) {
                return offset + size <= dataLen ? dataAddress(m) + offset : 0;
            }
            offset -= dataLen;
            m = next(m);
        }
    }

    /**
     * The fast path of the typed reads and writes: the address of packet bytes [offset, offset +
     * size) when they lie in the first segment's data, else 0 (then the slow path checks the
     * range against the packet length and follows the chain). The first segment's data length
     * never exceeds the packet length (DPDK and every setter here keep pkt_len the sum of the
     * segments' data_len), and the range stays inside that segment's data even if it did. No
     * memory read while the batch's generation holds (see seenGeneration), and little code, so
     * that C2 inlines a caller's whole header parsing.
     */
    private long inFirstSegment(int offset, int size) {
        mbuf();
        return offset >= 0 && offset <= seenDataLen - size ? seenData + offset : 0;
    }

    /** A typed read outside the first segment or out of range: checked, then in place or spanning. */
    private static long getSlow(long m, int offset, int size) {
        checkRange(offset, size, pktLen(m));
        long a = contiguous(m, offset, size);
        if (a == 0) {
            return readSpanning(m, offset, size);
        }
        switch (size) {
            case 1:
                return MEM.getByte(a);
            case 2:
                return fromNetwork(MEM.getShort(a), 2);
            case 4:
                return fromNetwork(MEM.getInt(a), 4);
            default:
                return fromNetwork(MEM.getLong(a), 8);
        }
    }

    /** A typed write outside the first segment or out of range: checked, then in place or spanning. */
    private static void putSlow(long m, int offset, int size, long value) {
        checkRange(offset, size, pktLen(m));
        long a = contiguous(m, offset, size);
        if (a == 0) {
            writeSpanning(m, offset, size, value);
            return;
        }
        switch (size) {
            case 1:
                MEM.putByte(a, (byte) value);
                break;
            case 2:
                MEM.putShort(a, (short) toNetwork(value, 2));
                break;
            case 4:
                MEM.putInt(a, (int) toNetwork(value, 4));
                break;
            default:
                MEM.putLong(a, toNetwork(value, 8));
        }
    }

    /** A big-endian value whose bytes span segments, byte by byte. */
    private static long readSpanning(long m, int offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v = v << 8 | (MEM.getByte(contiguous(m, offset + i, 1)) & 0xff);
        }
        return v;
    }

    private static void writeSpanning(long m, int offset, int size, long value) {
        for (int i = size - 1; i >= 0; i--) {
            MEM.putByte(contiguous(m, offset + i, 1), (byte) value);
            value >>>= 8;
        }
    }

    /** Native-order bits of a {@code size}-byte field read from memory, as a network-order value. */
    private static long fromNetwork(long raw, int size) {
        if (!LITTLE_ENDIAN) {
            return raw;
        }
        switch (size) {
            case 2:
                return Short.reverseBytes((short) raw);
            case 4:
                return Integer.reverseBytes((int) raw);
            default:
                return Long.reverseBytes(raw);
        }
    }

    private static long toNetwork(long value, int size) {
        return fromNetwork(value, size);
    }

    private static long dataAddress(long m) {
        return MEM.getLong(m + MbufLayout.BUF_ADDR) + (MEM.getShort(m + MbufLayout.DATA_OFF) & 0xffff);
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
