package io.jvhost.internal;

/**
 * Natives of native/iotlb_cache.c: DPDK 22.11's vhost IOTLB functions on a handle (a standalone
 * device, or one made by {@link NativeIotlbDevice}). No argument is checked here; the iotlb
 * package checks them and keeps handles alive while in use. Addresses and sizes are unsigned
 * 64-bit values in Java longs.
 */
public final class NativeIotlbCache {
    private NativeIotlbCache() {
    }

    /** @return a handle: a device with {@code queues} virtqueues with IOTLB, or throws */
    public static native long create(int queues, String name);

    /** Frees the handle and everything it owns. */
    public static native void destroy(long handle);

    /** vhost_user_iotlb_cache_insert(). */
    public static native void cacheInsert(long handle, int vq, long iova, long uaddr, long size, int perm);

    /** vhost_user_iotlb_cache_remove(). */
    public static native void cacheRemove(long handle, int vq, long iova, long size);

    /** vhost_user_iotlb_cache_find() under the IOTLB read lock; size[0] is in and out (see iovaToVva). */
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

    /**
     * vhost_iova_to_vva() under the IOTLB read lock. size[0] is in and out, as DPDK's
     * {@code uint64_t *size}: a caller-owned scratch cell, so that a lookup (measured against the
     * native loop) allocates nothing; it carries a length, never an error.
     */
    public static native long iovaToVva(long handle, int vq, long iova, long[] size, int perm);

    /** @return the next message the frontend's end of the backend-request channel got, or null */
    public static native byte[] readBackendRequest(long handle);

    /** Closes the frontend's end of the backend-request channel. */
    public static native void closeFrontend(long handle);

    /** @return backend requests dropped because Java left too many unread */
    public static native long droppedRequests(long handle);
}
