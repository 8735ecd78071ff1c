package io.jvhost.internal;

/**
 * Natives of native/iotlb.c: DPDK 22.11's vhost IOTLB functions on a standalone device. No argument
 * is checked here; {@link io.jvhost.iotlb.NativeIotlb} checks them and keeps handles alive while in
 * use. Addresses and sizes are unsigned 64-bit values in Java longs.
 */
public final class NativeIotlb {
    private NativeIotlb() {
    }

    /** @return a handle: a device with {@code queues} virtqueues with IOTLB, or throws */
    public static native long create(int queues, String name);

    /**
     * @return a handle: a device made by DPDK's vhost_new_device() under a registered (never
     *     started) vhost driver path, taking messages through vhost_user_msg_handler(); or throws
     */
    public static native long createDevice(String path);

    /** @return DPDK's end of the backend-request channel, to send in SET_SLAVE_REQ_FD (once; then -1) */
    public static native int takeSlaveBackendFd(long handle);

    /**
     * Sends a vhost-user message on the device's main channel and has DPDK handle it.
     *
     * @param msg header and payload
     * @param fds file descriptors to pass (SCM_RIGHTS), or null
     * @param rc receives vhost_user_msg_handler()'s return value
     * @return DPDK's reply, or null if it sent none
     */
    public static native byte[] request(long handle, byte[] msg, int[] fds, int[] rc);

    /** @return the device's number of virtqueues (dev->nr_vring) */
    public static native int nrVring(long handle);

    /** @return (guest_phys_addr, guest_user_addr, size, host_user_addr) per region of dev->mem */
    public static native long[] memTable(long handle);

    /** @return a sparse memfd of {@code size} bytes, or -errno */
    public static native int memfd(String name, long size);

    /** close(fd). */
    public static native void closeFd(int fd);

    /** Frees the handle and everything it owns. */
    public static native void destroy(long handle);

    /** vhost_user_iotlb_cache_insert(). */
    public static native void cacheInsert(long handle, int vq, long iova, long uaddr, long size, int perm);

    /** vhost_user_iotlb_cache_remove(). */
    public static native void cacheRemove(long handle, int vq, long iova, long size);

    /** vhost_user_iotlb_cache_find() under the IOTLB read lock; size[0] is in and out. */
    public static native long cacheFind(long handle, int vq, long iova, long[] size, int perm);

    /** {@code n} cache finds in a C loop under one read lock (for benchmarks); returns the sum of vvas and sizes. */
    public static native long findLoop(long handle, int vq, long[] iovas, long size, int perm, long n);

    /** vhost_user_iotlb_pending_miss(). */
    public static native boolean pendingMiss(long handle, int vq, long iova, int perm);

    /** vhost_user_iotlb_pending_insert(). */
    public static native void pendingInsert(long handle, int vq, long iova, int perm);

    /** vhost_user_iotlb_pending_remove(). */
    public static native void pendingRemove(long handle, int vq, long iova, long size, int perm);

    /** vhost_user_iotlb_flush_all(). */
    public static native void flushAll(long handle, int vq);

    /** vhost_iova_to_vva() under the IOTLB read lock; size[0] is in and out. */
    public static native long iovaToVva(long handle, int vq, long iova, long[] size, int perm);

    /** @return the next message the frontend's end of the backend-request channel got, or null */
    public static native byte[] readBackendRequest(long handle);

    /** Closes the frontend's end of the backend-request channel. */
    public static native void closeFrontend(long handle);

    /** @return backend requests dropped because Java left too many unread */
    public static native long droppedRequests(long handle);

    /** @return (iova, uaddr, size, perm) per cache entry, in DPDK's list order */
    public static native long[] cacheEntries(long handle, int vq);

    /** @return (iova, perm) per pending entry, in DPDK's list order */
    public static native long[] pendingEntries(long handle, int vq);

    /** @return [iotlb_cache_nr, free pool entries, iotlb_hits, iotlb_misses] */
    public static native long[] counters(long handle, int vq);

    /** rte_srand(seed): reseeds every lcore's state of the process's generator. */
    public static native void srand(long seed);

    /** @return rte_rand() */
    public static native long rand();

    /** @return the index of the rte_rand() state the calling thread uses */
    public static native int randStateIndex();

    /** @return RTE_MAX_LCORE of the DPDK build */
    public static native int maxLcore();
}
