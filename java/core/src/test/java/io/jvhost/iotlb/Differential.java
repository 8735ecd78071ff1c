package io.jvhost.iotlb;

import io.jvhost.iotlb.IotlbTrace.Op;
import io.jvhost.protocol.Access;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Runs one trace on several engines, op by op, and reports the first difference: an output line,
 * or the state (cache entries in order, pending entries, free pool entries) checked every few
 * operations and at the end. Shrinks a failing trace to a small one that still fails.
 */
final class Differential {
    /** How to make a fresh set of engines for one run, all seeded alike. */
    interface Setup {
        /** @return engines, the first being the reference; each to be closed if AutoCloseable */
        List<Iotlb> engines(long seed);

        /** @return names for messages */
        List<String> names();
    }

    /** The first difference found. */
    record Mismatch(int opIndex, String what) {
    }

    /** Native DPDK, the exact model and the fast one with DPDK's eviction, on one queue. */
    static Setup nativeExactFast() {
        return new Setup() {
            @Override
            public List<Iotlb> engines(long seed) {
                int state = NativeIotlb.randStateIndex();
                List<Iotlb> engines = new ArrayList<>();
                for (IotlbEngine e : IotlbEngine.values()) {
                    IotlbEngine.Opened opened = e.open(Iotlb.DPDK_POOL_SIZE, seed, state, true);
                    engines.add(opened.holdsNativeMemory() ? new Closing(opened.iotlb(), opened) : opened.iotlb());
                }
                return engines;
            }

            @Override
            public List<String> names() {
                return List.of(IotlbEngine.labels());
            }
        };
    }

    /** The exact model and the fast one with DPDK's eviction, with a pool of any size. */
    static Setup exactFast(int poolSize) {
        return new Setup() {
            @Override
            public List<Iotlb> engines(long seed) {
                return List.of(IotlbEngine.JAVA.open(poolSize, seed, 0, true).iotlb(),
                        IotlbEngine.FAST.open(poolSize, seed, 0, true).iotlb());
            }

            @Override
            public List<String> names() {
                return List.of("java(pool " + poolSize + ")", "fast(pool " + poolSize + ")");
            }
        };
    }

    /** The exact model and the fast one with its own (FIFO) eviction, with a pool that never runs out. */
    static Setup exactFastNoEviction(int poolSize) {
        return new Setup() {
            @Override
            public List<Iotlb> engines(long seed) {
                return List.of(
                        new IotlbCache(poolSize, () -> {
                            throw new AssertionError("this pool must never run out");
                        }, new BackendChannel()),
                        new FastIotlbCache(poolSize, FastIotlbCache.EvictionPolicy.oldest(), new BackendChannel()));
            }

            @Override
            public List<String> names() {
                return List.of("java(pool " + poolSize + ")", "fast-fifo(pool " + poolSize + ")");
            }
        };
    }

    /** An engine view that closes its owner when the run ends. */
    record Closing(Iotlb delegate, AutoCloseable owner) implements Iotlb {
        @Override
        public void cacheInsert(long iova, long uaddr, long size, Access perm) {
            delegate.cacheInsert(iova, uaddr, size, perm);
        }

        @Override
        public void cacheRemove(long iova, long size) {
            delegate.cacheRemove(iova, size);
        }

        @Override
        public long cacheFind(long iova, long[] size, Access perm) {
            return delegate.cacheFind(iova, size, perm);
        }

        @Override
        public boolean pendingMiss(long iova, Access perm) {
            return delegate.pendingMiss(iova, perm);
        }

        @Override
        public void pendingInsert(long iova, Access perm) {
            delegate.pendingInsert(iova, perm);
        }

        @Override
        public void pendingRemove(long iova, long size, Access perm) {
            delegate.pendingRemove(iova, size, perm);
        }

        @Override
        public void flushAll() {
            delegate.flushAll();
        }

        @Override
        public long iovaToVva(long iova, long[] size, Access perm) {
            return delegate.iovaToVva(iova, size, perm);
        }

        @Override
        public IotlbMiss pollMiss() {
            return delegate.pollMiss();
        }

        @Override
        public void disconnectFrontend() {
            delegate.disconnectFrontend();
        }

        @Override
        public List<IotlbEntry> cacheEntries() {
            return delegate.cacheEntries();
        }

        @Override
        public List<PendingEntry> pendingEntries() {
            return delegate.pendingEntries();
        }

        @Override
        public int freeEntries() {
            return delegate.freeEntries();
        }

        @Override
        public int poolSize() {
            return delegate.poolSize();
        }
    }

    private static final Comparator<PendingEntry> PENDING_ORDER = Comparator
            .<PendingEntry, Long>comparing(PendingEntry::iova, Long::compareUnsigned)
            .thenComparing(PendingEntry::perm);

    private Differential() {
    }

    private static void closeAll(List<Iotlb> engines) {
        for (Iotlb e : engines) {
            if (e instanceof Closing c) {
                try {
                    c.owner().close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private static String compareState(List<Iotlb> engines, List<String> names) {
        Iotlb ref = engines.get(0);
        List<IotlbEntry> cache = ref.cacheEntries();
        List<PendingEntry> pending = ref.pendingEntries();
        List<PendingEntry> pendingSorted = new ArrayList<>(pending);
        pendingSorted.sort(PENDING_ORDER);
        int free = ref.freeEntries();
        for (int i = 1; i < engines.size(); i++) {
            Iotlb e = engines.get(i);
            List<IotlbEntry> c = e.cacheEntries();
            if (!c.equals(cache)) {
                return "cache entries differ: " + names.get(0) + " " + cache.size() + " entries, " + names.get(i) + " "
                        + c.size() + "; first difference " + firstDifference(cache, c);
            }
            List<PendingEntry> p = e.pendingEntries();
            boolean sameOrder = !(e instanceof FastIotlbCache);
            if (sameOrder ? !p.equals(pending) : !sorted(p).equals(pendingSorted)) {
                return "pending entries differ: " + names.get(0) + " " + pending + ", " + names.get(i) + " " + p;
            }
            if (e.freeEntries() != free) {
                return "free pool entries differ: " + names.get(0) + " " + free + ", " + names.get(i) + " "
                        + e.freeEntries();
            }
        }
        return null;
    }

    private static List<PendingEntry> sorted(List<PendingEntry> p) {
        List<PendingEntry> s = new ArrayList<>(p);
        s.sort(PENDING_ORDER);
        return s;
    }

    private static <T> String firstDifference(List<T> a, List<T> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            T x = i < a.size() ? a.get(i) : null;
            T y = i < b.size() ? b.get(i) : null;
            if (!Objects.equals(x, y)) {
                return "at " + i + ": " + x + " vs " + y;
            }
        }
        return "none";
    }

    /**
     * @param setup the engines
     * @param ops the trace
     * @param seed the random seed for evictions
     * @param stateEvery compare states every this many operations (and at the end)
     * @return the first mismatch, or null
     */
    static Mismatch run(Setup setup, List<Op> ops, long seed, int stateEvery) {
        List<Iotlb> engines = setup.engines(seed);
        List<String> names = setup.names();
        long[] scratch = new long[1];
        String[] outs = new String[engines.size()];
        try {
            for (int k = 0; k < ops.size(); k++) {
                Op op = ops.get(k);
                for (int i = 0; i < engines.size(); i++) {
                    outs[i] = IotlbTrace.run(engines.get(i), op, scratch);
                }
                for (int i = 1; i < engines.size(); i++) {
                    if (!Objects.equals(outs[0], outs[i])) {
                        return new Mismatch(k, "'" + op + "' printed '" + outs[0] + "' on " + names.get(0) + " but '"
                                + outs[i] + "' on " + names.get(i));
                    }
                }
                if ((k + 1) % stateEvery == 0 || k == ops.size() - 1) {
                    String d = compareState(engines, names);
                    if (d != null) {
                        return new Mismatch(k, "after '" + op + "': " + d);
                    }
                }
            }
            return null;
        } finally {
            closeAll(engines);
        }
    }

    /**
     * Delta debugging: a smaller trace that still gives a mismatch.
     *
     * @param budget at most this many runs
     */
    static List<Op> shrink(Setup setup, List<Op> ops, long seed, int budget) {
        List<Op> current = new ArrayList<>(ops);
        int runs = 0;
        int chunk = Math.max(1, current.size() / 2);
        while (chunk >= 1 && runs < budget) {
            boolean removed = false;
            for (int start = 0; start < current.size() && runs < budget; ) {
                List<Op> candidate = new ArrayList<>(current.subList(0, start));
                candidate.addAll(current.subList(Math.min(current.size(), start + chunk), current.size()));
                runs++;
                if (!candidate.isEmpty() && run(setup, candidate, seed, 1) != null) {
                    current = candidate;
                    removed = true;
                } else {
                    start += chunk;
                }
            }
            if (!removed) {
                chunk /= 2;
            }
        }
        return current;
    }

    /**
     * Runs a trace; on a mismatch shrinks it, writes it to target/iotlb-failures and returns a
     * report with the seed and the replay commands, else null.
     */
    static String check(Setup setup, List<Op> ops, long seed, int stateEvery, String label) {
        Mismatch m = run(setup, ops, seed, stateEvery);
        if (m == null) {
            return null;
        }
        List<Op> prefix = new ArrayList<>(ops.subList(0, m.opIndex() + 1));
        List<Op> small = shrink(setup, prefix, seed, 3000);
        Mismatch sm = run(setup, small, seed, 1);
        String trace = small.stream().map(Op::toLine).collect(Collectors.joining("\n", "", "\n"));
        Path file = Path.of("target", "iotlb-failures", label.replaceAll("[^A-Za-z0-9_.-]", "_") + ".trace");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, "# " + label + ", seed " + seed + "\n" + trace);
        } catch (IOException e) {
            // the report below has the trace anyway
        }
        return label + " (seed " + seed + "): " + m.what() + " at operation " + (m.opIndex() + 1) + " of "
                + ops.size() + "\nshrunk to " + small.size() + " operations (" + (sm == null ? "?" : sm.what())
                + "), written to " + file.toAbsolutePath() + ":\n" + trace
                + "replay: scripts/jvhost iotlb replay --seed " + seed + " --engine native " + file
                + "   (and --engine java, --engine fast --eviction dpdk)\n";
    }
}
