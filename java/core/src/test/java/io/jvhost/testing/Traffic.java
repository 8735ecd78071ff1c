package io.jvhost.testing;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;

/** Test traffic: packets whose bytes say who they are, so any corruption or reordering shows. */
public final class Traffic {
    private Traffic() {
    }

    /**
     * @param seq the packet's sequence number
     * @param length its length
     * @return its content: an Ethernet-like header then a pattern of seq and position
     */
    public static byte[] content(int seq, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seq * 31 + i * 7 + (i >> 8));
        }
        // a unicast destination MAC, so no device treats it as multicast or broadcast
        if (length >= 14) {
            b[0] = 0x02;
            b[12] = 0x08;
            b[13] = 0x00;
        }
        // sequence number at 14..17 for readable failures
        if (length >= 18) {
            b[14] = (byte) (seq >>> 24);
            b[15] = (byte) (seq >>> 16);
            b[16] = (byte) (seq >>> 8);
            b[17] = (byte) seq;
        }
        return b;
    }

    /**
     * Fills a batch with fresh packets of the given sequence numbers and lengths.
     *
     * @param pool where from
     * @param batch where to
     * @param firstSeq first sequence number
     * @param lengths the length of each
     */
    public static void fill(MbufPool pool, PacketBatch batch, int firstSeq, int... lengths) {
        int start = batch.count();
        if (!batch.allocate(pool, lengths.length)) {
            throw new AssertionError("pool " + pool + " is out of mbufs (" + pool.available() + " left)");
        }
        for (int i = 0; i < lengths.length; i++) {
            byte[] c = content(firstSeq + i, lengths[i]);
            batch.packet(start + i).setData(c, 0, c.length);
        }
    }

    /**
     * @param p a packet
     * @param seq the sequence number it should have
     * @param length the length it should have
     * @return null if it is exactly the expected packet, otherwise what differs
     */
    public static String mismatch(Packet p, int seq, int length) {
        if (p.length() != length) {
            return "packet " + seq + ": length " + p.length() + ", expected " + length;
        }
        byte[] got = p.toByteArray();
        byte[] want = content(seq, length);
        for (int i = 0; i < length; i++) {
            if (got[i] != want[i]) {
                return "packet " + seq + " (" + length + " B): byte " + i + " is " + got[i] + ", expected " + want[i];
            }
        }
        return null;
    }

    /**
     * Calls step until it returns true or the time is up.
     *
     * @param millis how long at most
     * @param step one round of work; true when done
     * @return whether it finished
     */
    public static boolean pollUntil(long millis, java.util.function.BooleanSupplier step) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (step.getAsBoolean()) {
                return true;
            }
        }
        return false;
    }
}
