package io.jvhost.iotlb;

import java.security.SecureRandom;

/**
 * DPDK 22.11's {@code rte_rand()} (lib/eal/common/rte_random.c) in Java: L'Ecuyer's combined LFSR
 * "lfsr258" with one state per lcore, seeded by {@code rte_srand(seed)} with {@code seed + lcore}
 * through a 32-bit LCG. Same seed, same state index: the same numbers as DPDK.
 *
 * <p>DPDK picks the state of {@code rte_lcore_id()}; a thread without an lcore id (an unregistered
 * thread) uses the main lcore's state in 22.11 (later DPDK versions give such threads a state of
 * their own). See {@link NativeIotlb#randStateIndex()}.
 *
 * <p>Not thread-safe (neither is DPDK's per-lcore state).
 */
public final class RteRandom {
    /** RTE_MAX_LCORE of Debian 12's DPDK 22.11 build: the number of states. */
    public static final int DPDK_MAX_LCORE = 128;

    private final long[] z;
    private final int states;

    /**
     * @param seed the seed, as for {@code rte_srand}
     */
    public RteRandom(long seed) {
        this(seed, DPDK_MAX_LCORE);
    }

    /**
     * @param seed the seed, as for {@code rte_srand}
     * @param states the number of lcore states (RTE_MAX_LCORE)
     */
    public RteRandom(long seed, int states) {
        if (states < 1 || states > 65536) { // RTE_MAX_LCORE is 128 in Debian's build; 1..65536 is generous
            throw new IllegalArgumentException("states must be 1..65536: " + states);
        }
        this.states = states;
        this.z = new long[states * 5];
        srand(seed);
    }

    /** @return a generator seeded from {@link SecureRandom}, as DPDK seeds itself at start */
    public static RteRandom unseeded() {
        return new RteRandom(new SecureRandom().nextLong());
    }

    /** @return the number of states */
    public int states() {
        return states;
    }

    /**
     * {@code rte_srand(seed)}: reseeds every state, state {@code i} with {@code seed + i}.
     *
     * @param seed the seed
     */
    public void srand(long seed) {
        for (int lcore = 0; lcore < states; lcore++) {
            seedState(seed + lcore, lcore);
        }
    }

    private void seedState(long seed, int lcore) {
        int[] lcg = {(int) (seed ^ (seed >>> 32))};
        int o = lcore * 5;
        z[o] = genSeed(lcg, 2L);
        z[o + 1] = genSeed(lcg, 512L);
        z[o + 2] = genSeed(lcg, 4096L);
        z[o + 3] = genSeed(lcg, 131072L);
        z[o + 4] = genSeed(lcg, 8388608L);
    }

    private static long lcg32(int[] seed) {
        seed[0] = 1103515245 * seed[0] + 12345;
        return seed[0] & 0xffffffffL;
    }

    private static long genSeed(int[] seed, long min) {
        long low = lcg32(seed);
        long high = lcg32(seed);
        long res = low | (high << 32);
        if (Long.compareUnsigned(res, min) < 0) {
            res += min;
        }
        return res;
    }

    private static long comp(long z, int a, int b, long c, int d) {
        return ((z & c) << d) ^ (((z << a) ^ z) >>> b);
    }

    /**
     * {@code rte_rand()} on lcore {@code state}'s generator.
     *
     * @param state the state index (lcore id)
     * @return the next 64 random bits
     */
    public long rand(int state) {
        int o = state * 5;
        long z1 = comp(z[o], 1, 53, 0xFFFFFFFFFFFFFFFEL, 10);
        long z2 = comp(z[o + 1], 24, 50, 0xFFFFFFFFFFFFFE00L, 5);
        long z3 = comp(z[o + 2], 3, 23, 0xFFFFFFFFFFFFF000L, 29);
        long z4 = comp(z[o + 3], 5, 24, 0xFFFFFFFFFFFE0000L, 23);
        long z5 = comp(z[o + 4], 3, 33, 0xFFFFFFFFFF800000L, 8);
        z[o] = z1;
        z[o + 1] = z2;
        z[o + 2] = z3;
        z[o + 3] = z4;
        z[o + 4] = z5;
        return z1 ^ z2 ^ z3 ^ z4 ^ z5;
    }

    /**
     * @param state the state index that {@code rand()} calls will use
     * @return a supplier of {@code rte_rand()} values from that state
     */
    public java.util.function.LongSupplier forState(int state) {
        if (state < 0 || state >= states) {
            throw new IllegalArgumentException("state " + state + " not in [0, " + states + ")");
        }
        return () -> rand(state);
    }
}
