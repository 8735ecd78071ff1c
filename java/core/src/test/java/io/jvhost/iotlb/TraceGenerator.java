package io.jvhost.iotlb;

import io.jvhost.iotlb.IotlbTrace.Op;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random IOTLB traces that make the interesting cases frequent: addresses and sizes from small
 * page grids (exact matches, adjacency, overlap, containment), zero sizes, addresses near 2^64
 * (wraparound), the full 64-bit range, lookups of what was inserted, and fill phases that run the
 * pool past its size so that eviction and the pool-empty paths are covered.
 */
final class TraceGenerator {
    private static final long PAGE = 0x1000;
    private static final long[] OFFSETS = {0, 0, 0, 1, 0x7ff, 0x800, 0xfff};
    private static final long[] SIZES = {0, 1, 0x7ff, 0x800, 0x1000, 0x1000, 0x1000, 0x1800, 0x2000, 0x3000, 0x4000,
        0x10000};

    private final SplittableRandom rnd;
    private final List<long[]> inserted = new ArrayList<>(); // iova, size
    private final List<long[]> missed = new ArrayList<>(); // iova, perm of V and P operations
    private final int fillPages;

    /**
     * @param seed the seed
     * @param fillPages how many distinct pages fill phases use (more than the pool: eviction)
     */
    TraceGenerator(long seed, int fillPages) {
        this.rnd = new SplittableRandom(seed);
        this.fillPages = fillPages;
    }

    private long pick(long[] values) {
        return values[rnd.nextInt(values.length)];
    }

    private int perm() {
        return 1 + rnd.nextInt(3);
    }

    private long iova() {
        int d = rnd.nextInt(100);
        if (d < 45) {
            return rnd.nextInt(16) * PAGE + pick(OFFSETS); // small grid
        } else if (d < 60) {
            return -(1 + rnd.nextInt(8)) * PAGE + pick(OFFSETS); // just below 2^64
        } else if (d < 70) {
            return rnd.nextLong(); // anywhere
        } else if (d < 73) {
            return d == 70 ? 0 : -1L;
        } else if (!inserted.isEmpty()) {
            long[] e = inserted.get(rnd.nextInt(inserted.size()));
            switch (rnd.nextInt(5)) {
                case 0:
                    return e[0] + e[1]; // adjacent after
                case 1:
                    return e[0] + e[1] - 1; // last byte
                case 2:
                    return e[0] + (e[1] >>> 1); // inside
                case 3:
                    return e[0] - 1; // just before
                default:
                    return e[0]; // exact
            }
        }
        return rnd.nextInt(16) * PAGE;
    }

    private long size() {
        int d = rnd.nextInt(100);
        if (d < 75) {
            return pick(SIZES);
        } else if (d < 85) {
            return rnd.nextLong(); // anything, mostly wrapping
        } else if (d < 90) {
            return -rnd.nextInt(4) * PAGE; // wraps almost exactly
        } else if (d < 95) {
            return (1 + rnd.nextInt(64)) * PAGE;
        }
        return 1 + rnd.nextInt(0x3000);
    }

    private long uaddr(long iova) {
        switch (rnd.nextInt(6)) {
            case 0:
                return 0; // vva 0 is DPDK's "no address"
            case 1:
                return -iova; // uaddr + offset can be 0 too
            case 2:
                return rnd.nextLong();
            default:
                return 0x7f00_0000_0000L + (rnd.nextInt(1 << 20) * PAGE);
        }
    }

    private Op insert(long iova, long size) {
        inserted.add(new long[] {iova, size});
        if (inserted.size() > 4096) {
            inserted.remove(rnd.nextInt(inserted.size()));
        }
        return Op.of('I', iova, uaddr(iova), size, perm());
    }

    private Op remember(Op op) {
        missed.add(new long[] {op.args()[0], op.args()[op.args().length - 1]});
        if (missed.size() > 256) {
            missed.remove(rnd.nextInt(missed.size()));
        }
        return op;
    }

    /** @return a recently missed (iova, perm), or a random one */
    private long[] missedBefore() {
        if (!missed.isEmpty() && rnd.nextBoolean()) {
            long[] m = missed.get(rnd.nextInt(missed.size()));
            return new long[] {m[0], rnd.nextInt(4) == 0 ? perm() : m[1]};
        }
        return new long[] {iova(), perm()};
    }

    /** @return the next random operation */
    Op next() {
        int d = rnd.nextInt(1000);
        if (d < 320) {
            return insert(iova(), size());
        } else if (d < 390) {
            return Op.of('R', iova(), size());
        } else if (d < 590) {
            return Op.of('F', iova(), size(), perm());
        } else if (d < 760) {
            return remember(Op.of('V', iova(), size(), perm()));
        } else if (d < 820) {
            long[] m = missedBefore();
            return Op.of('M', m[0], m[1]);
        } else if (d < 890) {
            return remember(Op.of('P', iova(), perm()));
        } else if (d < 950) {
            long[] m = missedBefore();
            return Op.of('X', m[0] - (rnd.nextBoolean() ? 0 : rnd.nextInt(0x2000)), size(), (int) m[1] | (rnd.nextBoolean() ? 0 : perm()));
        } else if (d < 952) {
            return Op.of('C');
        }
        return Op.of('N');
    }

    /**
     * @param count operations
     * @param fill whether to include phases that fill the pool past 2048
     * @param disconnectAt operation index at which to disconnect the frontend, -1 for never
     * @return a trace
     */
    List<Op> trace(int count, boolean fill, int disconnectAt) {
        List<Op> ops = new ArrayList<>(count);
        while (ops.size() < count) {
            if (ops.size() == disconnectAt) {
                ops.add(Op.of('D'));
            } else if (fill && rnd.nextInt(2500) == 0) {
                // a fill phase: many distinct pages, with lookups among them
                int len = fillPages + rnd.nextInt(fillPages);
                long base = rnd.nextBoolean() ? 0x10_0000_0000L : -(long) fillPages * 2 * PAGE;
                for (int i = 0; i < len && ops.size() < count; i++) {
                    long page = base + rnd.nextInt(fillPages * 2) * PAGE;
                    int k = rnd.nextInt(10);
                    if (k < 6) {
                        ops.add(insert(page, PAGE * (1 + rnd.nextInt(2))));
                    } else if (k < 8) {
                        ops.add(Op.of('F', page + rnd.nextInt((int) PAGE), 1 + rnd.nextInt(0x2000), perm()));
                    } else if (k < 9) {
                        ops.add(Op.of('V', page, PAGE, perm()));
                    } else {
                        ops.add(Op.of('P', page, perm()));
                    }
                }
            } else {
                ops.add(next());
            }
        }
        return ops;
    }
}
