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
        Offsets o = NativeMbuf.mbufLayout();
        BUF_ADDR = o.bufAddr();
        DATA_OFF = o.dataOff();
        NB_SEGS = o.nbSegs();
        PKT_LEN = o.pktLen();
        DATA_LEN = o.dataLen();
        BUF_LEN = o.bufLen();
        NEXT = o.next();
        POOL = o.pool();
        SIZE = o.size();
        HEADROOM = o.headroom();
    }

    /**
     * The layout as native/mbuf.c reports it, built there from this record's constructor; copied
     * into the constants above once, so that the data path reads static finals.
     *
     * @param bufAddr offsetof buf_addr
     * @param dataOff offsetof data_off
     * @param nbSegs offsetof nb_segs
     * @param pktLen offsetof pkt_len
     * @param dataLen offsetof data_len
     * @param bufLen offsetof buf_len
     * @param next offsetof next
     * @param pool offsetof pool
     * @param size sizeof(struct rte_mbuf)
     * @param headroom RTE_PKTMBUF_HEADROOM
     */
    record Offsets(int bufAddr, int dataOff, int nbSegs, int pktLen, int dataLen, int bufLen, int next, int pool,
            int size, int headroom) {
    }

    private MbufLayout() {
    }
}
