package io.jvhost.mbuf;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalException;
import io.jvhost.internal.EalOwnership;
import io.jvhost.internal.MempoolHandle;
import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeHandles;
import io.jvhost.internal.NativeMbuf;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pool of packet buffers ({@code rte_pktmbuf_pool_create}). Packets received into or allocated
 * for a {@link PacketBatch} come from a pool and go back to it when freed.
 *
 * <p>Thread-safe. {@link #close()} refuses while mbufs of the pool are still in use (held by
 * batches or by a device's queues), while a port receives into it, or while a burst on another
 * thread uses it: freeing the pool under them would leave them dangling.
 */
public final class MbufPool implements AutoCloseable {
    /** Default data room of an mbuf: 2048 bytes plus DPDK's headroom (RTE_MBUF_DEFAULT_BUF_SIZE). */
    public static final int DEFAULT_DATA_ROOM = 2048 + 128;
    /** Default per-lcore cache size. */
    public static final int DEFAULT_CACHE = 256;
    private static final int MAX_NAME = 20;
    private static final AtomicInteger COUNTER = new AtomicInteger();

    static {
        NativeHandles.registerPools(p -> ((MbufPool) p).mempool);
    }

    private final Eal eal;
    private final String name;
    private final int size;
    private final int dataRoom;
    private final MempoolHandle mempool;

    private MbufPool(Eal eal, String name, int size, int dataRoom, long address) {
        this.eal = eal;
        this.name = name;
        this.size = size;
        this.dataRoom = dataRoom;
        this.mempool = new MempoolHandle(name, address);
    }

    /**
     * Creates a pool with the default data room and the default cache, or a smaller cache where
     * DPDK's rule (at most 2/3 of the pool) asks for it.
     *
     * @param size number of mbufs (at least 1)
     * @return the pool, owned by the running EAL
     * @throws IllegalStateException if EAL is not running
     */
    public static MbufPool create(int size) {
        return create(null, size, (int) Math.min(DEFAULT_CACHE, Math.max(0, size * 2L / 3)), DEFAULT_DATA_ROOM);
    }

    /**
     * Creates a pool.
     *
     * @param name DPDK's name for it (at most 20 characters, unique), or null for a generated one
     * @param size number of mbufs (at least 1)
     * @param cacheSize per-lcore cache (0 to 512, and at most size / 1.5); used by registered threads
     * @param dataRoom bytes per mbuf including DPDK's 128-byte headroom (at most 65535)
     * @return the pool, owned by the running EAL
     * @throws IllegalArgumentException for bad sizes or names
     * @throws IllegalStateException if EAL is not running
     * @throws EalException if DPDK cannot make it (e.g. out of memory, name taken)
     */
    public static MbufPool create(String name, int size, int cacheSize, int dataRoom) {
        Eal eal = Eal.require(); // first: after Eal.close() that is the problem, not the arguments
        if (size < 1) {
            throw new IllegalArgumentException("pool size must be positive: " + size);
        }
        if (cacheSize < 0 || cacheSize > 512 || cacheSize * 3L > size * 2L) {
            throw new IllegalArgumentException("cache size " + cacheSize + " must be 0..512 and at most 2/3 of the pool size "
                    + size + " (DPDK's rule)");
        }
        if (dataRoom < 128 + 1 || dataRoom > 65535) {
            throw new IllegalArgumentException("data room must be 129..65535 bytes (128 of headroom included): " + dataRoom);
        }
        String n = name != null ? name : "jvhost-pool-" + COUNTER.incrementAndGet();
        if (n.isEmpty() || n.length() > MAX_NAME) {
            throw new IllegalArgumentException("pool name must be 1.." + MAX_NAME + " characters: '" + n + "'");
        }
        long address = NativeMbuf.poolCreate(n, size, cacheSize, dataRoom, -1);
        if (address < 0) {
            int errno = (int) -address;
            throw new EalException("rte_pktmbuf_pool_create(" + n + ", " + size + ") failed", errno,
                    NativeEal.strerror(errno), List.of());
        }
        return EalOwnership.own(eal, new MbufPool(eal, n, size, dataRoom, address));
    }

    /** @return DPDK's name of the pool */
    public String name() {
        return name;
    }

    /** @return the number of mbufs */
    public int size() {
        return size;
    }

    /** @return bytes per mbuf, headroom included */
    public int dataRoom() {
        return dataRoom;
    }

    /**
     * @return mbufs free in the pool (per-lcore caches included)
     * @throws IllegalStateException if the pool is closed
     */
    public int available() {
        long mp = mempool.acquire();
        try {
            return NativeMbuf.poolAvailable(mp);
        } finally {
            mempool.release();
        }
    }

    /**
     * @return mbufs taken from the pool and not given back
     * @throws IllegalStateException if the pool is closed
     */
    public int inUse() {
        long mp = mempool.acquire();
        try {
            return NativeMbuf.poolInUse(mp);
        } finally {
            mempool.release();
        }
    }

    /** @return whether the pool is open */
    public boolean isOpen() {
        return mempool.isOpen();
    }

    /**
     * Frees the pool ({@code rte_mempool_free}); idempotent.
     *
     * @throws IllegalStateException if mbufs of it are in use, a port receives into it, or a burst
     *     on another thread uses it
     */
    @Override
    public void close() {
        mempool.close();
        EalOwnership.disown(eal, this);
    }

    @Override
    public String toString() {
        return "MbufPool[" + name + ", " + size + " x " + dataRoom + " B" + (isOpen() ? "]" : ", closed]");
    }
}
