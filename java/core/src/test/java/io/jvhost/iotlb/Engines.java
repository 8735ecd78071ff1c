package io.jvhost.iotlb;

import io.jvhost.testing.SharedEal;
import java.util.function.Consumer;

/** Runs a piece of test code on each engine: DPDK itself, the exact model, the fast one. */
final class Engines {
    static final String[] NAMES = IotlbEngine.labels();

    private Engines() {
    }

    /**
     * @param seed rte_srand seed for the run (evictions)
     * @param body the test, given each engine in turn
     */
    static void each(long seed, Consumer<Iotlb> body) {
        SharedEal.get();
        int state = NativeIotlb.randStateIndex();
        for (IotlbEngine engine : IotlbEngine.values()) {
            try (IotlbEngine.Opened opened = engine.open(Iotlb.DPDK_POOL_SIZE, seed, state, true)) {
                body.accept(opened.iotlb());
            } catch (AssertionError e) {
                throw new AssertionError("engine " + engine.label() + ": " + e.getMessage(), e);
            }
        }
    }

    /** Same, seed 1. */
    static void each(Consumer<Iotlb> body) {
        each(1, body);
    }
}
