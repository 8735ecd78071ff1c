package io.jvhost.iotlb;

import io.jvhost.testing.SharedEal;
import java.util.function.Consumer;

/** Runs a piece of test code on each engine: DPDK itself, the exact model, the fast one. */
final class Engines {
    static final String[] NAMES = {"native", "java", "fast"};

    private Engines() {
    }

    /**
     * @param seed rte_srand seed for the run (evictions)
     * @param body the test, given each engine in turn
     */
    static void each(long seed, Consumer<Iotlb> body) {
        SharedEal.get();
        int state = NativeIotlb.randStateIndex();
        for (String name : NAMES) {
            try {
                switch (name) {
                    case "native":
                        NativeIotlb.srand(seed);
                        try (NativeIotlb n = new NativeIotlb()) {
                            body.accept(n.queue(0));
                        }
                        break;
                    case "java":
                        body.accept(new IotlbCache(Iotlb.DPDK_POOL_SIZE, new RteRandom(seed).forState(state),
                                new BackendChannel()));
                        break;
                    default:
                        body.accept(new FastIotlbCache(Iotlb.DPDK_POOL_SIZE,
                                FastIotlbCache.EvictionPolicy.dpdkRandom(new RteRandom(seed).forState(state)),
                                new BackendChannel()));
                }
            } catch (AssertionError e) {
                AssertionError wrapped = new AssertionError("engine " + name + ": " + e.getMessage(), e);
                throw wrapped;
            }
        }
    }

    /** Same, seed 1. */
    static void each(Consumer<Iotlb> body) {
        each(1, body);
    }
}
