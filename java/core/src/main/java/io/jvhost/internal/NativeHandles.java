package io.jvhost.internal;

import java.util.Objects;
import java.util.function.Function;

/**
 * How jvhost's data path reaches the native state behind its public objects (a batch's mbuf array,
 * a pool's mempool) without a public method that would let any caller do the same. Each public
 * class registers its accessor when it is initialized, which happens before any instance exists.
 * Typed on Object so that this package never depends on the public ones.
 */
public final class NativeHandles {
    private static volatile Function<Object, MbufArray> batches;
    private static volatile Function<Object, MempoolHandle> pools;

    private NativeHandles() {
    }

    /** @param accessor PacketBatch's, set once */
    public static void registerBatches(Function<Object, MbufArray> accessor) {
        batches = accessor;
    }

    /** @param accessor MbufPool's, set once */
    public static void registerPools(Function<Object, MempoolHandle> accessor) {
        pools = accessor;
    }

    /**
     * @param batch a PacketBatch
     * @return its mbuf array
     */
    public static MbufArray batch(Object batch) {
        return batches.apply(Objects.requireNonNull(batch, "batch"));
    }

    /**
     * @param pool an MbufPool
     * @return its mempool
     */
    public static MempoolHandle pool(Object pool) {
        return pools.apply(Objects.requireNonNull(pool, "pool"));
    }
}
