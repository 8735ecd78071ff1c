package io.jvhost.iotlb;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * The three IOTLB engines behind {@link Iotlb}, made in one place: DPDK's own code, the exact Java
 * model, and the fast Java model. Tests, the differential checker and {@code jvhost iotlb replay}
 * all make their engines here, so that "seeded alike" means the same thing everywhere.
 */
public enum IotlbEngine {
    /** DPDK 22.11's {@code iotlb.c} on a private virtqueue ({@link NativeIotlb}); needs EAL. */
    NATIVE,
    /** {@link IotlbCache}: DPDK's lists and random eviction, bit for bit. */
    JAVA,
    /** {@link FastIotlbCache}: an interval map; DPDK's eviction or the oldest entry's. */
    FAST;

    /** @return the engine's name as the CLI spells it: native, java or fast */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param label native, java or fast (any case)
     * @return that engine
     * @throws IllegalArgumentException for another name
     */
    public static IotlbEngine of(String label) {
        Objects.requireNonNull(label, "label");
        for (IotlbEngine e : values()) {
            if (e.label().equalsIgnoreCase(label)) {
                return e;
            }
        }
        throw new IllegalArgumentException("engine must be one of " + Arrays.toString(labels()) + ", not '" + label + "'");
    }

    /** @return every engine's label */
    public static String[] labels() {
        return Arrays.stream(values()).map(IotlbEngine::label).toArray(String[]::new);
    }

    /**
     * Makes a one-queue IOTLB of this engine.
     *
     * @param poolSize entries of its pool; the native engine's is DPDK's, {@link Iotlb#DPDK_POOL_SIZE}
     * @param seed what {@code rte_srand} was given, or null for a random seed (as DPDK seeds itself);
     *     for the native engine a non-null seed reseeds DPDK's generator for the whole process
     * @param randState which of {@code rte_rand}'s per-lcore states the Java engines draw from
     *     (the native engine uses its calling thread's: {@link NativeIotlb#randStateIndex()})
     * @param dpdkEviction for {@link #FAST}: evict as DPDK does (random), else the oldest entry;
     *     the other engines always evict as DPDK does
     * @return the engine, to be closed (the native one holds DPDK memory)
     * @throws IllegalArgumentException for a pool size the engine cannot have
     */
    public Opened open(int poolSize, Long seed, int randState, boolean dpdkEviction) {
        if (this == NATIVE) {
            if (poolSize != Iotlb.DPDK_POOL_SIZE) {
                throw new IllegalArgumentException("the native engine's pool is DPDK's, " + Iotlb.DPDK_POOL_SIZE
                        + " entries, not " + poolSize);
            }
            if (seed != null) {
                NativeIotlb.srand(seed);
            }
            NativeIotlb n = new NativeIotlb();
            return new Opened(this, n.queue(0), n);
        }
        RteRandom random = seed != null ? new RteRandom(seed) : RteRandom.unseeded();
        Iotlb iotlb = this == JAVA
                ? new IotlbCache(poolSize, random.forState(randState), new BackendChannel())
                : new FastIotlbCache(poolSize, dpdkEviction
                        ? FastIotlbCache.EvictionPolicy.dpdkRandom(random.forState(randState))
                        : FastIotlbCache.EvictionPolicy.oldest(), new BackendChannel());
        return new Opened(this, iotlb, null);
    }

    /** An engine made by {@link #open}: its {@link Iotlb}, and the native memory it holds, if any. */
    public static final class Opened implements AutoCloseable {
        private final IotlbEngine engine;
        private final Iotlb iotlb;
        private final NativeIotlb owner;

        Opened(IotlbEngine engine, Iotlb iotlb, NativeIotlb owner) {
            this.engine = engine;
            this.iotlb = iotlb;
            this.owner = owner;
        }

        /** @return which engine */
        public IotlbEngine engine() {
            return engine;
        }

        /** @return the IOTLB of its one queue */
        public Iotlb iotlb() {
            return iotlb;
        }

        /** @return whether closing frees native memory (the native engine) */
        public boolean holdsNativeMemory() {
            return owner != null;
        }

        /** Frees the native engine's memory; nothing for the Java ones. Idempotent. */
        @Override
        public void close() {
            if (owner != null) {
                owner.close();
            }
        }

        @Override
        public String toString() {
            return "IotlbEngine.Opened[" + engine.label() + "]";
        }
    }
}
