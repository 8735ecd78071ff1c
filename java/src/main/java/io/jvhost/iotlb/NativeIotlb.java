package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * DPDK 22.11's own vhost IOTLB, called from Java: a standalone device ({@code struct virtio_net})
 * with {@code queues} virtqueues, allocated by the shim with {@code rte_zmalloc} in the state DPDK
 * gives a device whose frontend negotiated IOMMU support ({@code VIRTIO_DEV_SUPPORT_IOMMU},
 * {@code VIRTIO_F_IOMMU_PLATFORM}, protocol features REPLY_ACK and SLAVE_REQ), each virtqueue set
 * up by {@code vhost_user_iotlb_init} with its own pool of 2048 entries. Every method calls the
 * DPDK function of the same name, with the locking DPDK's callers use.
 *
 * <p>The device has a real backend-request ("slave") channel: {@code slave_req_fd} is one end of
 * a Unix stream socketpair, and the IOTLB MISS messages {@code __vhost_iova_to_vva} sends arrive at
 * the other end, the frontend's, which the shim keeps. {@link #readBackendRequest()} returns them
 * byte for byte (the shim takes them off the socket after every miss, so DPDK never blocks on a
 * full socket; beyond 1 MiB left unread the oldest are dropped and counted in
 * {@link #droppedRequests()}). {@link #disconnectFrontend()} closes the frontend's end, so later
 * sends fail as they do when QEMU is gone.
 *
 * <p>Random eviction uses DPDK's {@code rte_rand()}, whose state is per lcore and global to the
 * process: {@link #srand(long)} is {@code rte_srand}, which reseeds the generator of the whole
 * process (every lcore's state, used by anything in DPDK that draws random numbers), not just this
 * handle's. With the same seed and the same {@linkplain #randStateIndex() state index}, an
 * {@link IotlbCache} with an {@link RteRandom} evicts the same entries.
 *
 * <p>EAL must be running ({@link Eal#require()}); the handle is {@linkplain Eal#own owned} by it.
 * Many handles may exist at once. All methods are thread-safe and check their arguments (a closed
 * handle gives {@link IllegalStateException}, a bad queue index or permission
 * {@link IllegalArgumentException}), so that no call can crash the JVM; {@link #close()} waits for
 * calls in progress.
 */
public final class NativeIotlb implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Eal eal;
    private final int queues;
    private final String name;
    private long handle; // guarded by lock; 0 once closed

    /** A device with one virtqueue. */
    public NativeIotlb() {
        this(1);
    }

    /**
     * @param queues the number of virtqueues (1 to 256), each with its own IOTLB
     * @throws IllegalStateException if EAL is not running
     * @throws IllegalArgumentException for a bad number of queues
     * @throws OutOfMemoryError if DPDK's heap has no room
     */
    public NativeIotlb(int queues) {
        if (queues < 1 || queues > 256) {
            throw new IllegalArgumentException("queues must be 1..256, not " + queues);
        }
        this.eal = Eal.require();
        this.queues = queues;
        this.name = "jvhost-iotlb-" + COUNTER.incrementAndGet();
        this.handle = io.jvhost.internal.NativeIotlb.create(queues, name);
        try {
            eal.own(this);
        } catch (RuntimeException e) {
            io.jvhost.internal.NativeIotlb.destroy(handle);
            handle = 0;
            throw e;
        }
    }

    /**
     * For the benchmarks (same package): the raw handle, to call the natives without this class's
     * checks and lock. Valid until {@link #close()}.
     */
    long rawHandle() {
        return handle;
    }

    /** @return the device's name (its ifname in DPDK's log lines) */
    public String name() {
        return name;
    }

    /** @return the number of virtqueues */
    public int queues() {
        return queues;
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

    private long acquire(int vq) {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new IllegalStateException(name + " is closed");
        }
        if (vq < 0 || vq >= queues) {
            lock.readLock().unlock();
            throw new IllegalArgumentException("queue " + vq + " not in [0, " + queues + ")");
        }
        return handle;
    }

    private void release() {
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
     * @param perm {@link Perm}
     */
    public void cacheInsert(int vq, long iova, long uaddr, long size, int perm) {
        Perm.check(perm);
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlb.cacheInsert(h, vq, iova, uaddr, size, perm);
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
            io.jvhost.internal.NativeIotlb.cacheRemove(h, vq, iova, size);
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
     * @param perm {@link Perm}
     * @return the backend address, 0 if none
     */
    public long cacheFind(int vq, long iova, long[] size, int perm) {
        Perm.check(perm);
        checkSize(size);
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlb.cacheFind(h, vq, iova, size, perm);
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
     * @param perm {@link Perm}
     * @param n number of lookups
     * @return the sum of the addresses and lengths found (to keep the work observable)
     */
    public long findLoop(int vq, long[] iovas, long size, int perm, long n) {
        Perm.check(perm);
        Objects.requireNonNull(iovas, "iovas");
        if (n < 0) {
            throw new IllegalArgumentException("n: " + n);
        }
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlb.findLoop(h, vq, iovas, size, perm, n);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_pending_miss(vq, iova, perm)}.
     *
     * @param vq queue index
     * @param iova address
     * @param perm {@link Perm}
     * @return whether such a miss is pending
     */
    public boolean pendingMiss(int vq, long iova, int perm) {
        Perm.check(perm);
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlb.pendingMiss(h, vq, iova, perm);
        } finally {
            release();
        }
    }

    /**
     * {@code vhost_user_iotlb_pending_insert(dev, vq, iova, perm)}.
     *
     * @param vq queue index
     * @param iova address
     * @param perm {@link Perm}
     */
    public void pendingInsert(int vq, long iova, int perm) {
        Perm.check(perm);
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlb.pendingInsert(h, vq, iova, perm);
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
     * @param perm {@link Perm}
     */
    public void pendingRemove(int vq, long iova, long size, int perm) {
        Perm.check(perm);
        long h = acquire(vq);
        try {
            io.jvhost.internal.NativeIotlb.pendingRemove(h, vq, iova, size, perm);
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
            io.jvhost.internal.NativeIotlb.flushAll(h, vq);
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
     * @param perm {@link Perm}
     * @return the backend address, 0 on a miss
     */
    public long iovaToVva(int vq, long iova, long[] size, int perm) {
        Perm.check(perm);
        checkSize(size);
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlb.iovaToVva(h, vq, iova, size, perm);
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
            return io.jvhost.internal.NativeIotlb.readBackendRequest(h);
        } finally {
            release();
        }
    }

    /** @return the oldest unread backend request, decoded, or null */
    public BackendRequest readBackendRequest() {
        byte[] bytes = readBackendRequestBytes();
        return bytes == null ? null : BackendRequest.decode(bytes);
    }

    /** Closes the frontend's end of the backend-request channel: DPDK's next sends fail (EPIPE). */
    public void disconnectFrontend() {
        long h = acquire(0);
        try {
            io.jvhost.internal.NativeIotlb.closeFrontend(h);
        } finally {
            release();
        }
    }

    /** @return backend requests dropped because too many were left unread */
    public long droppedRequests() {
        long h = acquire(0);
        try {
            return io.jvhost.internal.NativeIotlb.droppedRequests(h);
        } finally {
            release();
        }
    }

    /**
     * @param vq queue index
     * @return the cache entries, read from DPDK's list in its order
     */
    public List<IotlbEntry> cacheEntries(int vq) {
        long[] raw;
        long h = acquire(vq);
        try {
            raw = io.jvhost.internal.NativeIotlb.cacheEntries(h, vq);
        } finally {
            release();
        }
        List<IotlbEntry> list = new ArrayList<>(raw.length / 4);
        for (int i = 0; i < raw.length; i += 4) {
            list.add(new IotlbEntry(raw[i], raw[i + 1], raw[i + 2], (int) raw[i + 3]));
        }
        return list;
    }

    /**
     * @param vq queue index
     * @return the pending entries, read from DPDK's list in its order
     */
    public List<PendingEntry> pendingEntries(int vq) {
        long[] raw;
        long h = acquire(vq);
        try {
            raw = io.jvhost.internal.NativeIotlb.pendingEntries(h, vq);
        } finally {
            release();
        }
        List<PendingEntry> list = new ArrayList<>(raw.length / 2);
        for (int i = 0; i < raw.length; i += 2) {
            list.add(new PendingEntry(raw[i], (int) raw[i + 1]));
        }
        return list;
    }

    private long counter(int vq, int index) {
        long h = acquire(vq);
        try {
            return io.jvhost.internal.NativeIotlb.counters(h, vq)[index];
        } finally {
            release();
        }
    }

    /**
     * @param vq queue index
     * @return {@code vq->iotlb_cache_nr}
     */
    public int cacheCount(int vq) {
        return (int) counter(vq, 0);
    }

    /**
     * @param vq queue index
     * @return the entries on the pool's free list
     */
    public int freeEntries(int vq) {
        return (int) counter(vq, 1);
    }

    /**
     * @param vq queue index
     * @return {@code vq->stats.iotlb_hits} (lookups by {@link #iovaToVva} that hit)
     */
    public long hits(int vq) {
        return counter(vq, 2);
    }

    /**
     * @param vq queue index
     * @return {@code vq->stats.iotlb_misses}
     */
    public long misses(int vq) {
        return counter(vq, 3);
    }

    /**
     * {@code rte_srand(seed)}: reseeds DPDK's random generator for the whole process, every
     * lcore's state ({@code seed + lcore}), which random eviction of every handle (and anything
     * else in DPDK using {@code rte_rand}) draws from.
     *
     * @param seed the seed
     * @throws IllegalStateException if EAL is not running
     */
    public static void srand(long seed) {
        Eal.require();
        io.jvhost.internal.NativeIotlb.srand(seed);
    }

    /**
     * @return {@code rte_rand()} on the calling thread's state (advances it)
     * @throws IllegalStateException if EAL is not running
     */
    public static long rand() {
        Eal.require();
        return io.jvhost.internal.NativeIotlb.rand();
    }

    /**
     * @return the index of the {@code rte_rand()} state the calling thread draws from: its lcore id
     *     or, for a thread without one, the main lcore's (DPDK 22.11)
     * @throws IllegalStateException if EAL is not running
     */
    public static int randStateIndex() {
        Eal.require();
        return io.jvhost.internal.NativeIotlb.randStateIndex();
    }

    /**
     * @return RTE_MAX_LCORE of the DPDK build (the number of {@code rte_rand()} states)
     */
    public static int maxLcore() {
        io.jvhost.internal.NativeLoader.load();
        return io.jvhost.internal.NativeIotlb.maxLcore();
    }

    /**
     * @param vq queue index
     * @return that queue's IOTLB as an {@link Iotlb} (calls go to this handle)
     */
    public Iotlb queue(int vq) {
        if (vq < 0 || vq >= queues) {
            throw new IllegalArgumentException("queue " + vq + " not in [0, " + queues + ")");
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
            io.jvhost.internal.NativeIotlb.destroy(handle);
            handle = 0;
        } finally {
            lock.writeLock().unlock();
        }
        eal.disown(this);
    }

    @Override
    public String toString() {
        return "NativeIotlb[" + name + ", " + queues + " queue(s)" + (isOpen() ? "]" : ", closed]");
    }

    private final class QueueView implements Iotlb {
        private final int vq;

        QueueView(int vq) {
            this.vq = vq;
        }

        @Override
        public void cacheInsert(long iova, long uaddr, long size, int perm) {
            NativeIotlb.this.cacheInsert(vq, iova, uaddr, size, perm);
        }

        @Override
        public void cacheRemove(long iova, long size) {
            NativeIotlb.this.cacheRemove(vq, iova, size);
        }

        @Override
        public long cacheFind(long iova, long[] size, int perm) {
            return NativeIotlb.this.cacheFind(vq, iova, size, perm);
        }

        @Override
        public boolean pendingMiss(long iova, int perm) {
            return NativeIotlb.this.pendingMiss(vq, iova, perm);
        }

        @Override
        public void pendingInsert(long iova, int perm) {
            NativeIotlb.this.pendingInsert(vq, iova, perm);
        }

        @Override
        public void pendingRemove(long iova, long size, int perm) {
            NativeIotlb.this.pendingRemove(vq, iova, size, perm);
        }

        @Override
        public void flushAll() {
            NativeIotlb.this.flushAll(vq);
        }

        @Override
        public long iovaToVva(long iova, long[] size, int perm) {
            return NativeIotlb.this.iovaToVva(vq, iova, size, perm);
        }

        @Override
        public IotlbMiss pollMiss() {
            BackendRequest r = readBackendRequest();
            if (r == null) {
                return null;
            }
            VhostIotlbMsg m = r.iotlb();
            return new IotlbMiss(m.iova(), m.perm());
        }

        @Override
        public void disconnectFrontend() {
            NativeIotlb.this.disconnectFrontend();
        }

        @Override
        public List<IotlbEntry> cacheEntries() {
            return NativeIotlb.this.cacheEntries(vq);
        }

        @Override
        public List<PendingEntry> pendingEntries() {
            return NativeIotlb.this.pendingEntries(vq);
        }

        @Override
        public int freeEntries() {
            return NativeIotlb.this.freeEntries(vq);
        }

        @Override
        public int poolSize() {
            return DPDK_POOL_SIZE;
        }

        @Override
        public String toString() {
            return NativeIotlb.this.name + " queue " + vq;
        }
    }
}
