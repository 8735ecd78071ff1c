package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import io.jvhost.internal.EalOwnership;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.Message;
import io.jvhost.protocol.VhostIotlbMsg;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A handle on a DPDK device made by the shim, with DPDK's own IOTLB on each virtqueue: what
 * {@link NativeIotlb} (a standalone device) and {@link NativeVhostDevice} (one set up through
 * vhost-user messages) share. Every method calls the DPDK function of the same name, with the
 * locking DPDK's callers use, after checking its arguments; a read lock keeps the handle alive
 * during a call, and {@link #close()} takes the write lock, so no call can touch freed memory.
 */
abstract class NativeIotlbHandle implements AutoCloseable {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Eal eal;
    private long handle; // guarded by lock; 0 once closed

    /**
     * @param eal the running EAL, which will own this handle
     * @param handle the shim's handle (closed here if EAL refuses to own it)
     */
    NativeIotlbHandle(Eal eal, long handle) {
        this.eal = eal;
        this.handle = handle;
        try {
            EalOwnership.own(eal, this);
        } catch (RuntimeException e) {
            io.jvhost.internal.NativeIotlbCache.destroy(handle);
            this.handle = 0;
            throw e;
        }
    }

    /** @return {@code queues} if it is a valid number of virtqueues (1 to 256) */
    static int checkQueues(int queues) {
        if (queues < 1 || queues > 256) {
            throw new IllegalArgumentException("queues must be 1..256, not " + queues);
        }
        return queues;
    }

    /** @return the device's name (its ifname in DPDK's log lines) */
    public abstract String name();

    /** @return the number of virtqueues DPDK has for the device */
    public abstract int queueCount();

    /** For the benchmarks (same package): the raw handle, without checks or lock; valid until close. */
    long rawHandle() {
        return handle;
    }

    /** @return whether the handle is open */
    public boolean isOpen() {
        lock.readLock().lock();
        try {
            return handle != 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The handle under the read lock, for calls not tied to a queue; {@link #release()} after. */
    final long acquire() {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new IllegalStateException(name() + " is closed");
        }
        return handle;
    }

    final long acquire(int vq) {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new IllegalStateException(name() + " is closed");
        }
        if (vq < 0 || vq >= queueCount()) {
            lock.readLock().unlock();
            throw new IllegalArgumentException("queue " + vq + " not in [0, " + queueCount() + ")");
        }
        return handle;
    }

    final void release() {
        lock.readLock().unlock();
    }

    private static void checkSize(long[] size) {
        Objects.requireNonNull(size, "size");
        if (size.length < 1) {
            throw new IllegalArgumentException("size must have at least one element");
        }
    }

    /**
     * {@code vhost_user_iotlb_cache_insert(dev, vq, iova, uaddr, size, perm)}.
     *
     * @param vq queue index
     * @param iova I/O virtual address
     * @param uaddr backend virtual address
     * @param size length
     * @param perm {@link Access}
     */
    public void cacheInsert(int vq, long iova, long uaddr, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlbCache.cacheInsert(h, vq, iova, uaddr, size, bits);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_cache_remove(vq, iova, size)}.
     *
     * @param vq queue index
     * @param iova start
     * @param size length
     */
    public void cacheRemove(int vq, long iova, long size) {
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlbCache.cacheRemove(h, vq, iova, size);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_cache_find(vq, iova, &size, perm)} under the IOTLB read lock.
     *
     * @param vq queue index
     * @param iova start
     * @param size in: length wanted; out: length found mapped when less
     * @param perm {@link Access}
     * @return the backend address, 0 if none
     */
    public long cacheFind(int vq, long iova, long[] size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        checkSize(size);
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlbCache.cacheFind(h, vq, iova, size, bits);
        } finally {
            release();
        }
    }

    /**
     * {@code n} lookups in one native call, in a C loop: {@code vhost_user_iotlb_cache_find} of
     * {@code iovas[i % iovas.length]} for {@code size} bytes, all under one IOTLB read lock, as
     * DPDK's data path does a burst. Measures DPDK's lookup without the JNI call per lookup.
     *
     * @param vq queue index
     * @param iovas addresses to look up, in turn
     * @param size length of each lookup
     * @param perm {@link Access}
     * @param n number of lookups
     * @return the sum of the addresses and lengths found (to keep the work observable)
     */
    public long findLoop(int vq, long[] iovas, long size, Access perm, long n) {
        int bits = Access.requireSome(perm).wire();
        Objects.requireNonNull(iovas, "iovas");
        if (n < 0) {
            throw new IllegalArgumentException("n: " + n);
        }
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlbCache.findLoop(h, vq, iovas, size, bits, n);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_pending_miss(vq, iova, perm)}.
     *
     * @param vq queue index
     * @param iova address
     * @param perm {@link Access}
     * @return whether such a miss is pending
     */
    public boolean pendingMiss(int vq, long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlbCache.pendingMiss(h, vq, iova, bits);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_pending_insert(dev, vq, iova, perm)}.
     *
     * @param vq queue index
     * @param iova address
     * @param perm {@link Access}
     */
    public void pendingInsert(int vq, long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlbCache.pendingInsert(h, vq, iova, bits);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_pending_remove(vq, iova, size, perm)}.
     *
     * @param vq queue index
     * @param iova start
     * @param size length
     * @param perm {@link Access}
     */
    public void pendingRemove(int vq, long iova, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlbCache.pendingRemove(h, vq, iova, size, bits);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_flush_all(vq)}.
     *
     * @param vq queue index
     */
    public void flushAll(int vq) {
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlbCache.flushAll(h, vq);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_iova_to_vva(dev, vq, iova, &size, perm)} with the IOTLB read lock held, as the
     * data path calls it; on a miss DPDK sends an IOTLB MISS on the backend-request channel.
     *
     * @param vq queue index
     * @param iova start
     * @param size in: length wanted (DPDK leaves it unchanged)
     * @param perm {@link Access}
     * @return the backend address, 0 on a miss
     */
    public long iovaToVva(int vq, long iova, long[] size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        checkSize(size);
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlbCache.iovaToVva(h, vq, iova, size, bits);
        } finally {
            release();
        }
    }

    /**
     * @return the raw bytes of the oldest message that arrived at the frontend's end of the
     *     backend-request channel and was not read yet, or null
     */
    public byte[] readBackendRequestBytes() {
        long h = acquire(0);
        try {
            return io.jvhost.internal.NativeIotlbCache.readBackendRequest(h);
        } finally {
            release();
        }
    }

    /** @return the oldest unread backend request, decoded, or null */
    public Message readBackendRequest() {
        byte[] bytes = readBackendRequestBytes();
        return bytes == null ? null : Message.decode(bytes);
    }

    /** Closes the frontend's end of the backend-request channel: DPDK's next sends fail (EPIPE). */
    public void disconnectFrontend() {
        long h = acquire(0);
        try {
            io.jvhost.internal.NativeIotlbCache.closeFrontend(h);
        } finally {
            release();
        }
    }

    /** @return backend requests dropped because too many were left unread */
    public long droppedRequests() {
        long h = acquire(0);
        try {
            return io.jvhost.internal.NativeIotlbCache.droppedRequests(h);
        } finally {
            release();
        }
    }

    /**
     * @param vq queue index
     * @return the cache entries, read from DPDK's list in its order
     */
    public List<IotlbEntry> cacheEntries(int vq) {
        long h = acquire(vq);
        try {
            return List.of(nativeCacheEntries(h, vq));
        } finally {
            release();
        }
    }

    /**
     * @param vq queue index
     * @return the pending entries, read from DPDK's list in its order
     */
    public List<PendingEntry> pendingEntries(int vq) {
        long h = acquire(vq);
        try {
            return List.of(nativePendingEntries(h, vq));
        } finally {
            release();
        }
    }

    private IotlbCounters counters(int vq) {
        long h = acquire(vq);
        try {
            return nativeCounters(h, vq);
        } finally {
            release();
        }
    }

    /**
     * @param vq queue index
     * @return {@code vq->iotlb_cache_nr}
     */
    public int cacheCount(int vq) {
        return counters(vq).cached();
    }

    /**
     * @param vq queue index
     * @return the entries on the pool's free list
     */
    public int freeEntries(int vq) {
        return counters(vq).free();
    }

    /**
     * @param vq queue index
     * @return {@code vq->stats.iotlb_hits} (lookups by {@link #iovaToVva} that hit)
     */
    public long hits(int vq) {
        return counters(vq).hits();
    }

    /**
     * @param vq queue index
     * @return {@code vq->stats.iotlb_misses}
     */
    public long misses(int vq) {
        return counters(vq).misses();
    }

    /**
     * @param vq queue index
     * @return that queue's IOTLB as an {@link Iotlb} (calls go to this handle)
     */
    public Iotlb queue(int vq) {
        if (vq < 0 || vq >= queueCount()) {
            throw new IllegalArgumentException("queue " + vq + " not in [0, " + queueCount() + ")");
        }
        return new QueueView(vq);
    }

    /** Frees the device, its queues and the channel; waits for calls in progress. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (handle == 0) {
                return;
            }
            io.jvhost.internal.NativeIotlbCache.destroy(handle);
            handle = 0;
        } finally {
            lock.writeLock().unlock();
        }
        EalOwnership.disown(eal, this);
    }

    // Natives of native/iotlb_native_handle.c: value objects built in C from constructors cached at
    // load; called with the handle acquired.

    private static native IotlbEntry[] nativeCacheEntries(long handle, int vq);

    private static native PendingEntry[] nativePendingEntries(long handle, int vq);

    private static native IotlbCounters nativeCounters(long handle, int vq);

    private final class QueueView implements Iotlb {
        private final int vq;

        QueueView(int vq) {
            this.vq = vq;
        }

        @Override
        public void cacheInsert(long iova, long uaddr, long size, Access perm) {
            NativeIotlbHandle.this.cacheInsert(vq, iova, uaddr, size, perm);
        }

        @Override
        public void cacheRemove(long iova, long size) {
            NativeIotlbHandle.this.cacheRemove(vq, iova, size);
        }

        @Override
        public long cacheFind(long iova, long[] size, Access perm) {
            return NativeIotlbHandle.this.cacheFind(vq, iova, size, perm);
        }

        @Override
        public boolean pendingMiss(long iova, Access perm) {
            return NativeIotlbHandle.this.pendingMiss(vq, iova, perm);
        }

        @Override
        public void pendingInsert(long iova, Access perm) {
            NativeIotlbHandle.this.pendingInsert(vq, iova, perm);
        }

        @Override
        public void pendingRemove(long iova, long size, Access perm) {
            NativeIotlbHandle.this.pendingRemove(vq, iova, size, perm);
        }

        @Override
        public void flushAll() {
            NativeIotlbHandle.this.flushAll(vq);
        }

        @Override
        public long iovaToVva(long iova, long[] size, Access perm) {
            return NativeIotlbHandle.this.iovaToVva(vq, iova, size, perm);
        }

        @Override
        public IotlbMiss pollMiss() {
            Message r = readBackendRequest();
            if (r == null) {
                return null;
            }
            VhostIotlbMsg m = r.iotlb();
            return new IotlbMiss(m.iova(), m.access());
        }

        @Override
        public void disconnectFrontend() {
            NativeIotlbHandle.this.disconnectFrontend();
        }

        @Override
        public List<IotlbEntry> cacheEntries() {
            return NativeIotlbHandle.this.cacheEntries(vq);
        }

        @Override
        public List<PendingEntry> pendingEntries() {
            return NativeIotlbHandle.this.pendingEntries(vq);
        }

        @Override
        public int freeEntries() {
            return NativeIotlbHandle.this.freeEntries(vq);
        }

        @Override
        public int poolSize() {
            return DPDK_POOL_SIZE;
        }

        @Override
        public String toString() {
            return NativeIotlbHandle.this.name() + " queue " + vq;
        }
    }
}
