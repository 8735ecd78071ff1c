package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The yardstick docs/iotlb.md compares DPDK with: a plain interval map. Intervals
 * {@code [iova, iova + size)} (cut at 2^64) never overlap; an insert replaces what it overlaps,
 * a remove removes exactly its range (cutting entries), and a lookup returns the address of its
 * first byte and the length mapped contiguously, in I/O and in backend addresses, with the
 * permission asked. Only the cache operations (I, R, F, N) are supported; N counts intervals.
 */
final class PlainIntervalMap implements Iotlb {
    private static final long FLIP = Long.MIN_VALUE;

    /** An interval with inclusive last byte (so 2^64 - 1 is representable). */
    private record Interval(long first, long last, long uaddr, Access perm) {
    }

    private final TreeMap<Long, Interval> map = new TreeMap<>();

    private static boolean le(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0;
    }

    private Interval containing(long x) {
        Map.Entry<Long, Interval> e = map.floorEntry(x ^ FLIP);
        return e != null && le(x, e.getValue().last()) ? e.getValue() : null;
    }

    private void cut(long first, long last) {
        List<Interval> hit = new ArrayList<>();
        Map.Entry<Long, Interval> before = map.floorEntry(first ^ FLIP);
        if (before != null && le(first, before.getValue().last())) {
            hit.add(before.getValue());
        }
        hit.addAll(map.subMap(first ^ FLIP, true, last ^ FLIP, true).values());
        for (Interval i : hit) {
            map.remove(i.first() ^ FLIP);
            if (Long.compareUnsigned(i.first(), first) < 0) {
                map.put(i.first() ^ FLIP, new Interval(i.first(), first - 1, i.uaddr(), i.perm()));
            }
            if (Long.compareUnsigned(i.last(), last) > 0) {
                long f = last + 1;
                map.put(f ^ FLIP, new Interval(f, i.last(), i.uaddr() + (f - i.first()), i.perm()));
            }
        }
    }

    private static long lastOf(long iova, long size) {
        long end = iova + size;
        return Long.compareUnsigned(end, iova) < 0 || end == 0 ? -1L : end - 1;
    }

    @Override
    public void cacheInsert(long iova, long uaddr, long size, Access perm) {
        if (size == 0) {
            return;
        }
        long last = lastOf(iova, size);
        cut(iova, last);
        map.put(iova ^ FLIP, new Interval(iova, last, uaddr, perm));
    }

    @Override
    public void cacheRemove(long iova, long size) {
        if (size != 0) {
            cut(iova, lastOf(iova, size));
        }
    }

    @Override
    public long cacheFind(long iova, long[] size, Access perm) {
        long want = size[0];
        Interval i = want == 0 ? null : containing(iova);
        if (i == null || !i.perm().allows(perm)) {
            size[0] = 0;
            return 0;
        }
        long vva = i.uaddr() + (iova - i.first());
        long mapped = i.last() - iova + 1; // 0 stands for 2^64 here, only if all of it is one interval
        while (mapped != 0 && Long.compareUnsigned(mapped, want) < 0 && i.last() != -1L) {
            Interval next = map.get((i.last() + 1) ^ FLIP);
            if (next == null || !next.perm().allows(perm)
                    || next.uaddr() != i.uaddr() + (i.last() - i.first() + 1)) {
                break;
            }
            mapped += next.last() - next.first() + 1;
            i = next;
        }
        if (mapped != 0 && Long.compareUnsigned(mapped, want) < 0) {
            size[0] = mapped;
        }
        return vva;
    }

    @Override
    public boolean pendingMiss(long iova, Access perm) {
        throw new UnsupportedOperationException("a plain interval map has no pending list");
    }

    @Override
    public void pendingInsert(long iova, Access perm) {
        throw new UnsupportedOperationException("a plain interval map has no pending list");
    }

    @Override
    public void pendingRemove(long iova, long size, Access perm) {
        throw new UnsupportedOperationException("a plain interval map has no pending list");
    }

    @Override
    public void flushAll() {
        map.clear();
    }

    @Override
    public long iovaToVva(long iova, long[] size, Access perm) {
        throw new UnsupportedOperationException("a plain interval map has no MISS protocol");
    }

    @Override
    public IotlbMiss pollMiss() {
        return null;
    }

    @Override
    public void disconnectFrontend() {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<IotlbEntry> cacheEntries() {
        List<IotlbEntry> l = new ArrayList<>();
        for (Interval i : map.values()) {
            l.add(new IotlbEntry(i.first(), i.uaddr(), i.last() - i.first() + 1, i.perm()));
        }
        return l;
    }

    @Override
    public List<PendingEntry> pendingEntries() {
        return List.of();
    }

    @Override
    public int freeEntries() {
        return DPDK_POOL_SIZE - map.size();
    }

    @Override
    public int poolSize() {
        return DPDK_POOL_SIZE;
    }
}
