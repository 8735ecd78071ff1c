package io.jvhost.internal;

/** Offsets of struct rte_mbuf's fields, as the linked DPDK lays them out. */
public final class MbufLayout {
    /** offsetof(struct rte_mbuf, buf_addr). */
    public static final long BUF_ADDR;
    /** offsetof(struct rte_mbuf, data_off), uint16_t. */
    public static final long DATA_OFF;
    /** offsetof(struct rte_mbuf, nb_segs), uint16_t. */
    public static final long NB_SEGS;
    /** offsetof(struct rte_mbuf, pkt_len), uint32_t. */
    public static final long PKT_LEN;
    /** offsetof(struct rte_mbuf, data_len), uint16_t. */
    public static final long DATA_LEN;
    /** offsetof(struct rte_mbuf, buf_len), uint16_t. */
    public static final long BUF_LEN;
    /** offsetof(struct rte_mbuf, next). */
    public static final long NEXT;
    /** offsetof(struct rte_mbuf, pool). */
    public static final long POOL;
    /** sizeof(struct rte_mbuf). */
    public static final int SIZE;
    /** RTE_PKTMBUF_HEADROOM. */
    public static final int HEADROOM;

    static {
        NativeLoader.load();
        int[] l = NativeMbuf.mbufLayout();
        BUF_ADDR = l[0];
        DATA_OFF = l[1];
        NB_SEGS = l[2];
        PKT_LEN = l[3];
        DATA_LEN = l[4];
        BUF_LEN = l[5];
        NEXT = l[6];
        POOL = l[7];
        SIZE = l[8];
        HEADROOM = l[9];
    }

    private MbufLayout() {
    }
}
