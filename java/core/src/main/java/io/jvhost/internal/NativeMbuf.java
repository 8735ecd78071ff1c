package io.jvhost.internal;

/** Natives of mbuf pools and bursts; see native/mbuf.c. */
public final class NativeMbuf {
    private NativeMbuf() {
    }

    /** @return the {@code rte_mempool *}, or -errno */
    public static native long poolCreate(String name, int n, int cache, int dataRoom, int socket);

    public static native void poolFree(long pool);

    public static native int poolAvailable(long pool);

    public static native int poolInUse(long pool);

    public static native int allocBulk(long pool, long pkts, int offset, int n);

    /** allocBulk, then copies {@code copy} bytes from {@code template} into each and sets its length; 0 or -1. */
    public static native int allocFilled(long pool, long pkts, int offset, int n, long template, int copy, int length);

    public static native void freeBulk(long pkts, int offset, int n);

    public static native long appendSegment(long pool, long mbuf);

    static native MbufLayout.Offsets mbufLayout();
}
