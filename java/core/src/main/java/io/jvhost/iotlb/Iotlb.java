package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.util.List;

/**
 * One virtqueue's IOTLB with the operations of DPDK 22.11's lib/vhost/iotlb.c, and the lookup its
 * data path uses ({@code __vhost_iova_to_vva}). Implementations: {@link NativeIotlb} (DPDK itself),
 * {@link IotlbCache} (a bit-exact Java model) and {@link FastIotlbCache} (the same answers with
 * O(log n) lookups). Addresses and sizes are unsigned 64-bit numbers in Java longs; sums wrap at
 * 2^64 exactly as DPDK's {@code uint64_t} arithmetic does.
 *
 * <p>Lengths are passed as a one-element array, in and out, like DPDK's {@code uint64_t *size}, so
 * that a lookup makes no garbage when the caller reuses the array.
 */
public interface Iotlb {
    /** The number of entries DPDK 22.11 gives each virtqueue's pool ({@code IOTLB_CACHE_SIZE}). */
    int DPDK_POOL_SIZE = 2048;
    /** The largest pool the Java engines accept: a larger one is a mistake, not a model of DPDK. */
    int MAX_POOL_SIZE = 1 << 20;

    /**
     * {@code vhost_user_iotlb_cache_insert}: adds a mapping, unless one with the same iova exists, and
     * removes the pending misses it answers. With no free pool entry it first evicts a cache entry
     * (or, with an empty cache, drops every pending entry).
     *
     * @param iova I/O virtual address
     * @param uaddr backend virtual address
     * @param size length
     * @param perm {@link Access}
     */
    void cacheInsert(long iova, long uaddr, long size, Access perm);

    /**
     * {@code vhost_user_iotlb_cache_remove}: removes the entries DPDK considers overlapping
     * {@code [iova, iova + size)} (see docs/iotlb.md for what that means exactly).
     *
     * @param iova start
     * @param size length; 0 removes nothing
     */
    void cacheRemove(long iova, long size);

    /**
     * {@code vhost_user_iotlb_cache_find}.
     *
     * @param iova start
     * @param size in: the length wanted; out: the length found mapped when it is less
     * @param perm {@link Access} needed
     * @return the backend address of {@code iova}, 0 if none
     */
    long cacheFind(long iova, long[] size, Access perm);

    /**
     * {@code vhost_user_iotlb_pending_miss}.
     *
     * @param iova address
     * @param perm permission
     * @return whether a miss for exactly this iova and perm is pending
     */
    boolean pendingMiss(long iova, Access perm);

    /**
     * {@code vhost_user_iotlb_pending_insert}.
     *
     * @param iova address
     * @param perm permission
     */
    void pendingInsert(long iova, Access perm);

    /**
     * {@code vhost_user_iotlb_pending_remove}: removes the pending entries with an iova in
     * {@code [iova, iova + size)} whose perm is a subset of {@code perm}.
     *
     * @param iova start
     * @param size length
     * @param perm permission
     */
    void pendingRemove(long iova, long size, Access perm);

    /** {@code vhost_user_iotlb_flush_all}: empties the cache and the pending list. */
    void flushAll();

    /**
     * {@code vhost_iova_to_vva} with the IOTLB read lock held, as DPDK's data path calls it: a cache
     * hit for the whole length returns the address; otherwise it returns 0 and, unless a miss for the
     * first unmapped byte is already pending, records it as pending and sends an IOTLB MISS to the
     * frontend (see {@link #pollMiss()}).
     *
     * @param iova start
     * @param size in: the length wanted (DPDK leaves it unchanged)
     * @param perm {@link Access} needed
     * @return the backend address, 0 on a miss
     */
    long iovaToVva(long iova, long[] size, Access perm);

    /**
     * @return the oldest IOTLB MISS sent on the device's backend-request channel and not polled yet,
     *     or null
     */
    IotlbMiss pollMiss();

    /**
     * Closes the frontend's end of the backend-request channel: from now on sending a MISS fails,
     * which DPDK handles by removing the pending entry again.
     */
    void disconnectFrontend();

    /** @return the cache entries in DPDK's list order (ascending iova) */
    List<IotlbEntry> cacheEntries();

    /** @return the pending entries (DPDK's list order for the exact engines, by iova for the fast one) */
    List<PendingEntry> pendingEntries();

    /** @return free entries of the pool that cache and pending list share */
    int freeEntries();

    /** @return the pool's size */
    int poolSize();
}
