package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A bit-exact Java model of one virtqueue's IOTLB in DPDK 22.11 (lib/vhost/iotlb.c and
 * {@code __vhost_iova_to_vva} in vhost.c), statement for statement:
 *
 * <ul>
 *   <li>the cache is a list sorted by iova, scanned linearly; the pending list is in insertion
 *       order; both take their entries from one pool ({@value Iotlb#DPDK_POOL_SIZE} entries in
 *       DPDK, configurable here);</li>
 *   <li>with the pool empty, a cache insert evicts one cache entry chosen by
 *       {@code rte_rand() % iotlb_cache_nr} (or, if the cache is empty, drops all pending
 *       entries), a pending insert drops all pending entries (or, if there are none, evicts a
 *       cache entry);</li>
 *   <li>insert ignores an entry whose iova is already cached, and removes the pending entries it
 *       answers;</li>
 *   <li>all address arithmetic wraps at 2^64 like {@code uint64_t}.</li>
 * </ul>
 *
 * <p>Random numbers come from a {@link LongSupplier} standing for {@code rte_rand()}: with
 * {@link RteRandom#forState(int)} of the same seed and state index as the native thread, this
 * model evicts the same entries as DPDK. IOTLB MISS messages go to a {@link BackendChannel}.
 *
 * <p>Not thread-safe. Operations cost what DPDK's cost: O(n) in the number of entries.
 */
public final class IotlbCache extends ModelIotlb {
    private static final class Node {
        long iova;
        long uaddr;
        long size;
        int perm;
    }

    private final int poolSize;
    private final LongSupplier rand;
    private final ArrayList<Node> cache = new ArrayList<>();
    private final ArrayList<Node> pending = new ArrayList<>();
    private final ArrayList<Node> free = new ArrayList<>();

    /** DPDK's pool size, a fresh channel, {@code rte_rand} state 0 of a generator seeded at random. */
    public IotlbCache() {
        this(DPDK_POOL_SIZE, RteRandom.unseeded().forState(0), new BackendChannel());
    }

    /**
     * @param poolSize entries of the pool shared by cache and pending list (DPDK: 2048)
     * @param rand {@code rte_rand()}, e.g. {@link RteRandom#forState(int)}
     * @param channel where MISS messages go
     */
    public IotlbCache(int poolSize, LongSupplier rand, BackendChannel channel) {
        super(channel);
        this.poolSize = checkPoolSize(poolSize);
        this.rand = Objects.requireNonNull(rand, "rand");
        for (int i = 0; i < poolSize; i++) {
            free.add(new Node());
        }
    }

    private static boolean lt(long a, long b) {
        return Long.compareUnsigned(a, b) < 0;
    }

    private static boolean ge(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0;
    }

    private static boolean gt(long a, long b) {
        return Long.compareUnsigned(a, b) > 0;
    }

    // vhost_user_iotlb_pool_get / _put: the free list is a LIFO (SLIST_INSERT_HEAD/REMOVE_HEAD)
    private Node poolGet() {
        return free.isEmpty() ? null : free.remove(free.size() - 1);
    }

    private void poolPut(Node node) {
        free.add(node);
    }

    private void pendingRemoveAll() {
        for (Node node : pending) {
            poolPut(node);
        }
        pending.clear();
    }

    @Override
    public boolean pendingMiss(long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        for (Node node : pending) {
            if (node.iova == iova && node.perm == bits) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void pendingInsert(long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        Node node = poolGet();
        if (node == null) {
            if (!pending.isEmpty()) {
                pendingRemoveAll();
            } else {
                cacheRandomEvict();
            }
            node = poolGet();
            if (node == null) {
                return; // "IOTLB pool vq %u still empty, pending insertion failure"
            }
        }
        node.iova = iova;
        node.perm = bits;
        pending.add(node);
    }

    @Override
    public void pendingRemove(long iova, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long end = iova + size;
        for (int i = 0; i < pending.size(); ) {
            Node node = pending.get(i);
            if (lt(node.iova, iova) || ge(node.iova, end) || (node.perm & bits) != node.perm) {
                i++;
                continue;
            }
            pending.remove(i);
            poolPut(node);
        }
    }

    private void cacheRemoveAll() {
        for (Node node : cache) {
            poolPut(node);
        }
        cache.clear();
    }

    private void cacheRandomEvict() {
        // entry_idx = rte_rand() % vq->iotlb_cache_nr; (an int: nr is never 0 here in DPDK)
        int nr = cache.size();
        if (nr == 0) {
            throw new IllegalStateException("DPDK would divide by zero here (rte_rand() % 0)");
        }
        int idx = (int) Long.remainderUnsigned(rand.getAsLong(), nr);
        poolPut(cache.remove(idx));
    }

    @Override
    public void cacheInsert(long iova, long uaddr, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        Node newNode = poolGet();
        if (newNode == null) {
            if (!cache.isEmpty()) {
                cacheRandomEvict();
            } else {
                pendingRemoveAll();
            }
            newNode = poolGet();
            if (newNode == null) {
                return; // "IOTLB pool vq %u still empty, cache insertion failed"
            }
        }
        newNode.iova = iova;
        newNode.uaddr = uaddr;
        newNode.size = size;
        newNode.perm = bits;

        int i = 0;
        boolean placed = false;
        for (; i < cache.size(); i++) {
            Node node = cache.get(i);
            // "Entries must be invalidated before being updated. So if iova already in list, assume identical."
            if (node.iova == newNode.iova) {
                poolPut(newNode);
                placed = true;
                break;
            } else if (gt(node.iova, newNode.iova)) {
                cache.add(i, newNode);
                placed = true;
                break;
            }
        }
        if (!placed) {
            cache.add(newNode);
        }
        pendingRemove(iova, size, perm);
    }

    @Override
    public void cacheRemove(long iova, long size) {
        if (size == 0) {
            return;
        }
        for (int i = 0; i < cache.size(); ) {
            Node node = cache.get(i);
            if (lt(iova + size, node.iova)) {
                break; // "Sorted list"
            }
            if (lt(iova, node.iova + node.size)) {
                cache.remove(i);
                poolPut(node);
            } else {
                i++;
            }
        }
    }

    @Override
    public long cacheFind(long iova, long[] size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long want = size[0];
        long vva = 0;
        long mapped = 0;
        if (want != 0) {
            for (int i = 0, n = cache.size(); i < n; i++) {
                Node node = cache.get(i);
                if (lt(iova, node.iova)) {
                    break; // "List sorted by iova"
                }
                if (ge(iova, node.iova + node.size)) {
                    continue;
                }
                if ((bits & node.perm) != bits) {
                    vva = 0;
                    break;
                }
                long offset = iova - node.iova;
                if (vva == 0) {
                    vva = node.uaddr + offset;
                }
                mapped += node.size - offset;
                iova = node.iova + node.size;
                if (ge(mapped, want)) {
                    break;
                }
            }
        }
        // "Only part of the requested chunk is mapped"
        if (lt(mapped, want)) {
            size[0] = mapped;
        }
        return vva;
    }

    @Override
    public void flushAll() {
        cacheRemoveAll();
        pendingRemoveAll();
    }

    @Override
    public List<IotlbEntry> cacheEntries() {
        List<IotlbEntry> list = new ArrayList<>(cache.size());
        for (Node n : cache) {
            list.add(new IotlbEntry(n.iova, n.uaddr, n.size, Access.ofWire(n.perm)));
        }
        return list;
    }

    @Override
    public List<PendingEntry> pendingEntries() {
        List<PendingEntry> list = new ArrayList<>(pending.size());
        for (Node n : pending) {
            list.add(new PendingEntry(n.iova, Access.ofWire(n.perm)));
        }
        return list;
    }

    /** @return {@code iotlb_cache_nr}: the number of cache entries */
    public int cacheCount() {
        return cache.size();
    }

    @Override
    public int freeEntries() {
        return free.size();
    }

    @Override
    public int poolSize() {
        return poolSize;
    }

    @Override
    public String toString() {
        return "IotlbCache[" + cache.size() + " cached, " + pending.size() + " pending, " + free.size() + " free]";
    }
}
