package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

import io.jvhost.iotlb.IotlbTrace.Op;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import io.jvhost.testing.SharedEal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Native DPDK vs the exact Java model vs the fast one, op by op, on random traces. A failure
 * prints the seed and a shrunk trace that the replay tool runs.
 *
 * <p>The seeds change with every run unless {@code -Djvhost.iotlb.seed=N} fixes them (the seed
 * is in every failure message).
 */
class IotlbDifferentialTest {
    private static final long BASE_SEED = Long.getLong("jvhost.iotlb.seed", System.nanoTime());
    private static final int OPS = Integer.getInteger("jvhost.iotlb.ops", 100_000);
    private static Map<String, DpdkLogLevel> savedLevels;

    @BeforeAll
    static void quietVhostErrors() {
        SharedEal.get();
        savedLevels = DpdkLog.types();
        // traces that disconnect the frontend make DPDK log three errors per failed MISS
        DpdkLog.setLevel("lib.vhost.*", DpdkLogLevel.CRITICAL);
    }

    @AfterAll
    static void restore() {
        savedLevels.forEach((type, level) -> {
            if (type.startsWith("lib.vhost.")) {
                DpdkLog.setLevel(type, level);
            }
        });
    }

    private static void report(List<String> failures, long ops, long started, String what) {
        System.out.printf("%s: %,d operations in %d ms (base seed %d)%n", what, ops,
                (System.nanoTime() - started) / 1_000_000, BASE_SEED);
        if (!failures.isEmpty()) {
            throw new AssertionError(String.join("\n", failures));
        }
    }

    @Test
    void nativeExactAndFastAgreeOnRandomTraces() {
        long started = System.nanoTime();
        List<String> failures = new ArrayList<>();
        long total = 0;
        int evictionTraces = 0;
        for (int t = 0; t < 6; t++) {
            long seed = BASE_SEED + t;
            TraceGenerator gen = new TraceGenerator(seed, Iotlb.DPDK_POOL_SIZE);
            List<Op> ops = gen.trace(OPS, t % 3 != 2, t == 1 ? OPS * 9 / 10 : -1);
            total += ops.size();
            if (filledPastPool(ops)) {
                evictionTraces++;
            }
            String f = Differential.check(Differential.nativeExactFast(), ops, seed, 50, "native-java-fast-" + seed);
            if (f != null) {
                failures.add(f);
            }
        }
        assertThat("some traces must fill the pool", evictionTraces, greaterThanOrEqualTo(1));
        report(failures, total, started, "native vs java vs fast");
        assertThat(total, greaterThanOrEqualTo(100_000L));
    }

    private static boolean filledPastPool(List<Op> ops) {
        return ops.stream().filter(o -> o.code() == 'I').count() > Iotlb.DPDK_POOL_SIZE;
    }

    @Test
    void evictionsFollowTheSeedInAllEngines() {
        // a pool-filling trace only: every insert past 2048 evicts rte_rand() % n
        long started = System.nanoTime();
        List<String> failures = new ArrayList<>();
        long seed = BASE_SEED ^ 0x5eed;
        List<Op> ops = new ArrayList<>();
        TraceGenerator gen = new TraceGenerator(seed, 4096);
        for (int i = 0; i < 6000; i++) {
            ops.add(Op.of('I', (long) i * 0x1000, 0x7f00_0000_0000L + (long) i * 0x1000, 0x1000, 1 + i % 3));
            if (i % 7 == 0) {
                ops.add(gen.next());
            }
        }
        String f = Differential.check(Differential.nativeExactFast(), ops, seed, 100, "eviction-" + seed);
        if (f != null) {
            failures.add(f);
        }
        report(failures, ops.size(), started, "evictions");
    }

    @Test
    void exactAndFastAgreeWithSmallPools() {
        long started = System.nanoTime();
        List<String> failures = new ArrayList<>();
        long total = 0;
        for (int pool : new int[] {1, 2, 3, 5, 16, 64}) {
            long seed = BASE_SEED + 100 + pool;
            List<Op> ops = new TraceGenerator(seed, pool).trace(OPS / 2, true, pool == 5 ? OPS / 4 : -1);
            total += ops.size();
            String f = Differential.check(Differential.exactFast(pool), ops, seed, 1, "java-fast-pool" + pool + "-" + seed);
            if (f != null) {
                failures.add(f);
            }
        }
        report(failures, total, started, "java vs fast, small pools");
    }

    @Test
    void fastWithItsOwnEvictionAgreesWhileNothingIsEvicted() {
        long started = System.nanoTime();
        List<String> failures = new ArrayList<>();
        long seed = BASE_SEED + 200;
        List<Op> ops = new TraceGenerator(seed, 4096).trace(OPS, true, -1);
        String f = Differential.check(Differential.exactFastNoEviction(1 << 16), ops, seed, 25, "java-fastfifo-" + seed);
        if (f != null) {
            failures.add(f);
        }
        report(failures, ops.size(), started, "java vs fast (fifo), no eviction");
    }
}
