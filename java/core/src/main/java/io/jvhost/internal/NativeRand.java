package io.jvhost.internal;

/**
 * Natives of native/rand.c: DPDK's random generator, which the Java IOTLB models follow draw for
 * draw.
 */
public final class NativeRand {
    private NativeRand() {
    }

    /** rte_srand(seed): reseeds every lcore's state of the process's generator. */
    public static native void srand(long seed);

    /** @return rte_rand() */
    public static native long rand();

    /** @return the index of the rte_rand() state the calling thread uses */
    public static native int randStateIndex();

    /** @return RTE_MAX_LCORE of the DPDK build */
    public static native int maxLcore();
}
