package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import io.jvhost.protocol.Access;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * IOTLB cache lookups ({@code vhost_user_iotlb_cache_find}) with 1 to 2048 entries, on:
 *
 * <ul>
 *   <li>{@code nativeApi}: DPDK through {@link NativeIotlb#cacheFind} (argument checks, the handle's
 *       read lock, JNI, DPDK's IOTLB read lock, DPDK's find);</li>
 *   <li>{@code nativeJni}: the same JNI call without jvhost's checks and lock;</li>
 *   <li>{@code nativeC}: DPDK's find in a C loop, 1024 lookups per JNI call under one IOTLB read
 *       lock, as in a data path burst: DPDK's own cost;</li>
 *   <li>{@code exact}: the bit-exact Java model ({@link IotlbCache}), a linear scan like DPDK's;</li>
 *   <li>{@code fast}: {@link FastIotlbCache}, O(log n).</li>
 * </ul>
 *
 * <p>The cache holds {@code entries} page-sized entries at consecutive pages; each lookup is for 64
 * bytes at a random offset of a random entry (the same 1024 lookups, in turn, for every engine).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xss2m"})
public class IotlbLookupBenchmark {
    private static final int LOOKUPS = 1024;
    private static final long PAGE = 0x1000;
    private static final long BASE_IOVA = 0x10_0000_0000L;
    private static final long BASE_VVA = 0x7f00_0000_0000L;
    private static final long LEN = 64;

    @Param({"1", "16", "64", "256", "1024", "2048"})
    public int entries;

    private Eal eal;
    private NativeIotlb nativeIotlb;
    private long handle;
    private IotlbCache exact;
    private FastIotlbCache fast;
    private final long[] iovas = new long[LOOKUPS];
    private final long[] size = new long[1];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        DpdkLog.setLevel(DpdkLogLevel.WARNING);
        eal = Eal.current().orElseGet(() -> Eal.start(EalConfig.builder().memoryMb(128).build()));
        nativeIotlb = new NativeIotlb();
        handle = nativeIotlb.rawHandle();
        exact = new IotlbCache(Iotlb.DPDK_POOL_SIZE, new RteRandom(1).forState(0), new BackendChannel());
        fast = new FastIotlbCache();
        for (int i = 0; i < entries; i++) {
            long iova = BASE_IOVA + i * PAGE;
            long vva = BASE_VVA + i * PAGE;
            nativeIotlb.cacheInsert(0, iova, vva, PAGE, Access.RW);
            exact.cacheInsert(iova, vva, PAGE, Access.RW);
            fast.cacheInsert(iova, vva, PAGE, Access.RW);
        }
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < LOOKUPS; i++) {
            iovas[i] = BASE_IOVA + r.nextInt(entries) * PAGE + r.nextInt((int) (PAGE - LEN));
        }
        // every engine must find every lookup
        for (long iova : iovas) {
            long expected = BASE_VVA + (iova - BASE_IOVA);
            for (Iotlb t : new Iotlb[] {nativeIotlb.queue(0), exact, fast}) {
                size[0] = LEN;
                if (t.cacheFind(iova, size, Access.RO) != expected || size[0] != LEN) {
                    throw new IllegalStateException(t + " does not find " + Hex.of(iova));
                }
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        nativeIotlb.close();
        eal.close();
    }

    private long nextIova() {
        long iova = iovas[next];
        next = (next + 1) & (LOOKUPS - 1);
        return iova;
    }

    @Benchmark
    public long nativeApi() {
        size[0] = LEN;
        return nativeIotlb.cacheFind(0, nextIova(), size, Access.RO);
    }

    @Benchmark
    public long nativeJni() {
        size[0] = LEN;
        return io.jvhost.internal.NativeIotlbCache.cacheFind(handle, 0, nextIova(), size, Access.RO.wire());
    }

    @Benchmark
    @OperationsPerInvocation(LOOKUPS)
    public long nativeC() {
        return io.jvhost.internal.NativeIotlbCache.findLoop(handle, 0, iovas, LEN, Access.RO.wire(), LOOKUPS);
    }

    @Benchmark
    public long exact() {
        size[0] = LEN;
        return exact.cacheFind(nextIova(), size, Access.RO);
    }

    @Benchmark
    public long fast() {
        size[0] = LEN;
        return fast.cacheFind(nextIova(), size, Access.RO);
    }
}
