package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * DPDK 22.11's IOTLB semantics with O(log n) lookups. It answers every operation exactly as
 * {@link IotlbCache} (and DPDK) does, quirks included (see docs/iotlb.md), except for which entry
 * is evicted when the pool is full: that is its {@link EvictionPolicy}, by default
 * {@linkplain EvictionPolicy#oldest() the entry inserted longest ago}. With
 * {@link EvictionPolicy#dpdkRandom(LongSupplier)} it evicts what DPDK evicts, given the same
 * random numbers.
 *
 * <p>How: the cache is kept in sorted parallel arrays (start, end = start + size wrapped at 2^64,
 * uaddr, size, perm) with a prefix maximum of the ends. DPDK's lookup scans the list from the
 * lowest iova and takes the first entry with {@code start <= iova < end} (the wrapped end), then
 * continues from the next entry at the end of the one it took. Because every entry before the one
 * taken ends at or below the address looked up, "the first entry after i that contains x" is "the
 * first index whose prefix maximum of ends exceeds x" among those starting at or below x: two
 * binary searches per step, O(log n). Inserts and removals shift the arrays and the prefix maximum
 * (O(n), as DPDK's list insert is), and the pending list is a sorted map of per-permission counts.
 *
 * <p>Not thread-safe. Lookups ({@link #cacheFind}, {@link #iovaToVva} on a hit) make no garbage.
 */
public final class FastIotlbCache extends ModelIotlb {
    /** Chooses the cache entry to evict when the pool is full. */
    @FunctionalInterface
    public interface EvictionPolicy {
        /**
         * @param cache the cache, with at least one entry
         * @return the index, in ascending iova order, of the entry to evict: in
         *     {@code [0, cache.cacheCount())}
         */
        int victim(FastIotlbCache cache);

        /** @return evict the entry inserted longest ago (FIFO; O(n) per eviction) */
        static EvictionPolicy oldest() {
            return FastIotlbCache::oldestIndex;
        }

        /**
         * @param rand {@code rte_rand()}, e.g. {@link RteRandom#forState(int)}
         * @return DPDK's choice: entry {@code rte_rand() % count} in iova order
         */
        static EvictionPolicy dpdkRandom(LongSupplier rand) {
            Objects.requireNonNull(rand, "rand");
            return c -> (int) Long.remainderUnsigned(rand.getAsLong(), c.cacheCount());
        }
    }

    private static final long FLIP = Long.MIN_VALUE;

    private final int poolSize;
    private final EvictionPolicy eviction;

    // cache, sorted by start (unsigned); "keys" are values ^ FLIP, so signed order is unsigned order
    private final long[] startKey;
    private final long[] endKey;
    private final long[] maxEndKey; // prefix maximum of endKey
    private final long[] uaddr;
    private final long[] size;
    private final byte[] perm;
    private final long[] seq;
    private int n;
    private long nextSeq;

    // pending: key (iova ^ FLIP) -> count per perm (index 1..3)
    private final TreeMap<Long, int[]> pending = new TreeMap<>();
    private int pendingCount;


    /** DPDK's pool size, FIFO eviction, a fresh channel. */
    public FastIotlbCache() {
        this(DPDK_POOL_SIZE, EvictionPolicy.oldest(), new BackendChannel());
    }

    /**
     * @param poolSize entries of the pool shared by cache and pending list (DPDK: 2048)
     * @param eviction which cache entry a full pool gives up
     * @param channel where MISS messages go
     */
    public FastIotlbCache(int poolSize, EvictionPolicy eviction, BackendChannel channel) {
        super(channel);
        this.poolSize = checkPoolSize(poolSize);
        this.eviction = Objects.requireNonNull(eviction, "eviction");
        startKey = new long[poolSize];
        endKey = new long[poolSize];
        maxEndKey = new long[poolSize];
        uaddr = new long[poolSize];
        size = new long[poolSize];
        perm = new byte[poolSize];
        seq = new long[poolSize];
    }

    private int free() {
        return poolSize - n - pendingCount;
    }

    /** @return the number of entries whose start key is at or below {@code k} */
    private int countStartsAtOrBelow(long k) {
        int lo = 0;
        int hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (startKey[mid] <= k) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** @return the first index in [from, to) whose prefix maximum end exceeds {@code k}, or {@code to} */
    private int firstMaxEndAbove(long k, int from, int to) {
        int lo = from;
        int hi = to;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (maxEndKey[mid] > k) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    private void recomputeMax(int from) {
        long m = from == 0 ? Long.MIN_VALUE : maxEndKey[from - 1];
        for (int i = from; i < n; i++) {
            if (endKey[i] > m) {
                m = endKey[i];
            }
            maxEndKey[i] = m;
        }
    }

    private void removeAt(int i) {
        int tail = n - i - 1;
        System.arraycopy(startKey, i + 1, startKey, i, tail);
        System.arraycopy(endKey, i + 1, endKey, i, tail);
        System.arraycopy(uaddr, i + 1, uaddr, i, tail);
        System.arraycopy(size, i + 1, size, i, tail);
        System.arraycopy(perm, i + 1, perm, i, tail);
        System.arraycopy(seq, i + 1, seq, i, tail);
        n--;
        recomputeMax(i);
    }

    private void evict() {
        int victim = eviction.victim(this);
        if (victim < 0 || victim >= n) {
            throw new IllegalStateException("eviction policy chose " + victim + " of " + n + " entries");
        }
        removeAt(victim);
    }

    /** @return the index of the entry inserted longest ago */
    private int oldestIndex() {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (seq[i] < seq[best]) {
                best = i;
            }
        }
        return best;
    }

    private void pendingRemoveAll() {
        pending.clear();
        pendingCount = 0;
    }

    @Override
    public boolean pendingMiss(long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        int[] counts = pending.get(iova ^ FLIP);
        return counts != null && counts[bits] > 0;
    }

    @Override
    public void pendingInsert(long iova, Access perm) {
        int bits = Access.requireSome(perm).wire();
        if (free() == 0) {
            if (pendingCount > 0) {
                pendingRemoveAll();
            } else {
                evict();
            }
            if (free() == 0) {
                return;
            }
        }
        pending.computeIfAbsent(iova ^ FLIP, k -> new int[4])[bits]++;
        pendingCount++;
    }

    @Override
    public void pendingRemove(long iova, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long end = iova + size;
        if (Long.compareUnsigned(iova, end) >= 0 || pendingCount == 0) {
            return; // [iova, iova + size) is empty in DPDK's uint64_t comparison
        }
        Iterator<Map.Entry<Long, int[]>> it = pending.subMap(iova ^ FLIP, true, end ^ FLIP, false)
                .entrySet().iterator();
        while (it.hasNext()) {
            int[] counts = it.next().getValue();
            int left = 0;
            for (int p = 1; p <= 3; p++) {
                if ((p & bits) == p) {
                    pendingCount -= counts[p];
                    counts[p] = 0;
                }
                left += counts[p];
            }
            if (left == 0) {
                it.remove();
            }
        }
    }

    @Override
    public void cacheInsert(long iova, long uaddr, long size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        if (free() == 0) {
            if (n > 0) {
                evict();
            } else {
                pendingRemoveAll();
            }
            if (free() == 0) {
                return;
            }
        }
        long k = iova ^ FLIP;
        int pos = Arrays.binarySearch(startKey, 0, n, k);
        if (pos < 0) {
            pos = -pos - 1;
            int tail = n - pos;
            System.arraycopy(startKey, pos, startKey, pos + 1, tail);
            System.arraycopy(endKey, pos, endKey, pos + 1, tail);
            System.arraycopy(this.uaddr, pos, this.uaddr, pos + 1, tail);
            System.arraycopy(this.size, pos, this.size, pos + 1, tail);
            System.arraycopy(this.perm, pos, this.perm, pos + 1, tail);
            System.arraycopy(seq, pos, seq, pos + 1, tail);
            startKey[pos] = k;
            endKey[pos] = (iova + size) ^ FLIP;
            this.uaddr[pos] = uaddr;
            this.size[pos] = size;
            this.perm[pos] = (byte) bits;
            seq[pos] = nextSeq++;
            n++;
            recomputeMax(pos);
        }
        // an entry with this iova exists: DPDK keeps it as it is
        pendingRemove(iova, size, perm);
    }

    @Override
    public void cacheRemove(long iova, long size) {
        if (size == 0) {
            return;
        }
        long x = iova ^ FLIP;
        // DPDK stops at the first entry starting above iova + size (wrapped), and removes every
        // entry before it whose (wrapped) end is above iova
        int limit = countStartsAtOrBelow((iova + size) ^ FLIP);
        int first = firstMaxEndAbove(x, 0, limit);
        if (first == limit) {
            return;
        }
        int w = first;
        for (int r = first; r < limit; r++) {
            if (endKey[r] > x) {
                continue; // removed
            }
            if (w != r) {
                startKey[w] = startKey[r];
                endKey[w] = endKey[r];
                uaddr[w] = uaddr[r];
                this.size[w] = this.size[r];
                perm[w] = perm[r];
                seq[w] = seq[r];
            }
            w++;
        }
        int tail = n - limit;
        System.arraycopy(startKey, limit, startKey, w, tail);
        System.arraycopy(endKey, limit, endKey, w, tail);
        System.arraycopy(uaddr, limit, uaddr, w, tail);
        System.arraycopy(this.size, limit, this.size, w, tail);
        System.arraycopy(perm, limit, perm, w, tail);
        System.arraycopy(seq, limit, seq, w, tail);
        n = w + tail;
        recomputeMax(first);
    }

    @Override
    public long cacheFind(long iova, long[] size, Access perm) {
        int bits = Access.requireSome(perm).wire();
        long want = size[0];
        long vva = 0;
        long mapped = 0;
        if (want != 0) {
            int from = 0;
            while (true) {
                long x = iova ^ FLIP;
                int hi = countStartsAtOrBelow(x);
                int j = firstMaxEndAbove(x, from, hi);
                if (j >= hi) {
                    break;
                }
                if ((bits & this.perm[j]) != bits) {
                    vva = 0;
                    break;
                }
                long start = startKey[j] ^ FLIP;
                long offset = iova - start;
                if (vva == 0) {
                    vva = uaddr[j] + offset;
                }
                mapped += this.size[j] - offset;
                iova = endKey[j] ^ FLIP;
                if (Long.compareUnsigned(mapped, want) >= 0) {
                    break;
                }
                from = j + 1;
            }
        }
        if (Long.compareUnsigned(mapped, want) < 0) {
            size[0] = mapped;
        }
        return vva;
    }

    @Override
    public void flushAll() {
        n = 0;
        pendingRemoveAll();
    }

    @Override
    public List<IotlbEntry> cacheEntries() {
        List<IotlbEntry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(new IotlbEntry(startKey[i] ^ FLIP, uaddr[i], size[i], Access.ofWire(perm[i])));
        }
        return list;
    }

    /** @return the pending entries in ascending iova order, then perm (DPDK's order is not kept) */
    @Override
    public List<PendingEntry> pendingEntries() {
        List<PendingEntry> list = new ArrayList<>(pendingCount);
        for (Map.Entry<Long, int[]> e : pending.entrySet()) {
            for (int p = 1; p <= 3; p++) {
                for (int c = 0; c < e.getValue()[p]; c++) {
                    list.add(new PendingEntry(e.getKey() ^ FLIP, Access.ofWire(p)));
                }
            }
        }
        return list;
    }

    /** @return the number of cache entries */
    public int cacheCount() {
        return n;
    }

    @Override
    public int freeEntries() {
        return free();
    }

    @Override
    public int poolSize() {
        return poolSize;
    }

    @Override
    public String toString() {
        return "FastIotlbCache[" + n + " cached, " + pendingCount + " pending, " + free() + " free]";
    }
}
