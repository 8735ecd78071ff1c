package io.jvhost.loop;

/**
 * How an {@link EventLoop} thread waits after a round of polls that found nothing to do: an
 * immutable value, shared freely; each loop thread keeps its own count of empty rounds.
 *
 * <p>{@link #busySpin()} polls again at once, always: the lowest latency, a whole core. A
 * backing-off strategy ({@link #adaptive()} or {@link #builder()}) counts consecutive empty rounds:
 * the first {@link #spins()} are followed by {@link Thread#onSpinWait()}, the next
 * {@link #yields()} by {@link Thread#yield()}, every later one by a park
 * ({@link java.util.concurrent.locks.LockSupport#parkNanos}) that starts at {@link #minParkNanos()}
 * and doubles up to {@link #maxParkNanos()}, the bound on how late a thread notices new traffic
 * (plus the operating system's timer slack). One round with work returns to busy polling at once
 * and starts the count again, so under load the loop runs exactly as with {@link #busySpin()}.
 */
public final class IdleStrategy {
    /** Empty rounds followed by {@link Thread#onSpinWait()} in {@link #adaptive()}. */
    public static final int DEFAULT_SPINS = 1_000;
    /** Empty rounds followed by {@link Thread#yield()} in {@link #adaptive()}, after the spins. */
    public static final int DEFAULT_YIELDS = 100;
    /** First park of {@link #adaptive()}, in nanoseconds. */
    public static final long DEFAULT_MIN_PARK_NANOS = 1_000L;
    /** Longest park of {@link #adaptive()}, in nanoseconds: the bound on its wake-up latency. */
    public static final long DEFAULT_MAX_PARK_NANOS = 1_000_000L;

    private static final IdleStrategy BUSY = new IdleStrategy(true, 0, 0, 0, 0);
    private static final IdleStrategy ADAPTIVE = new IdleStrategy(false, DEFAULT_SPINS, DEFAULT_YIELDS,
            DEFAULT_MIN_PARK_NANOS, DEFAULT_MAX_PARK_NANOS);

    private final boolean busy;
    private final int spins;
    private final int yields;
    private final long minParkNanos;
    private final long maxParkNanos;

    private IdleStrategy(boolean busy, int spins, int yields, long minParkNanos, long maxParkNanos) {
        this.busy = busy;
        this.spins = spins;
        this.yields = yields;
        this.minParkNanos = minParkNanos;
        this.maxParkNanos = maxParkNanos;
    }

    /**
     * Polls again at once after an empty round, never waiting: for benchmarks and latency-critical
     * work on a dedicated core, which it keeps at 100 %.
     *
     * @return the busy-spinning strategy
     */
    public static IdleStrategy busySpin() {
        return BUSY;
    }

    /**
     * Backs off with the defaults: {@value #DEFAULT_SPINS} spins, {@value #DEFAULT_YIELDS} yields,
     * then parks from {@value #DEFAULT_MIN_PARK_NANOS} ns doubling up to
     * {@value #DEFAULT_MAX_PARK_NANOS} ns.
     *
     * @return the default backing-off strategy
     */
    public static IdleStrategy adaptive() {
        return ADAPTIVE;
    }

    /** @return a builder of a backing-off strategy, starting from {@link #adaptive()}'s values */
    public static Builder builder() {
        return new Builder();
    }

    /** @return whether this is {@link #busySpin()}: it never waits */
    public boolean isBusySpin() {
        return busy;
    }

    /** @return empty rounds followed by {@link Thread#onSpinWait()} before yielding (0 for busy spin) */
    public int spins() {
        return spins;
    }

    /** @return empty rounds followed by {@link Thread#yield()} before parking (0 for busy spin) */
    public int yields() {
        return yields;
    }

    /** @return the first park, in nanoseconds (0 for busy spin) */
    public long minParkNanos() {
        return minParkNanos;
    }

    /** @return the longest park, in nanoseconds (0 for busy spin) */
    public long maxParkNanos() {
        return maxParkNanos;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdleStrategy s && s.busy == busy && s.spins == spins && s.yields == yields
                && s.minParkNanos == minParkNanos && s.maxParkNanos == maxParkNanos;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(busy, spins, yields, minParkNanos, maxParkNanos);
    }

    @Override
    public String toString() {
        return busy ? "IdleStrategy[busy spin]"
                : "IdleStrategy[spins " + spins + ", yields " + yields + ", park " + minParkNanos + ".." + maxParkNanos
                        + " ns]";
    }

    /** Builds a backing-off {@link IdleStrategy}. */
    public static final class Builder {
        private int spins = DEFAULT_SPINS;
        private int yields = DEFAULT_YIELDS;
        private long minParkNanos = DEFAULT_MIN_PARK_NANOS;
        private long maxParkNanos = DEFAULT_MAX_PARK_NANOS;

        private Builder() {
        }

        /**
         * @param n empty rounds followed by {@link Thread#onSpinWait()}, 0 or more
         * @return this
         */
        public Builder spins(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("spins must not be negative: " + n);
            }
            this.spins = n;
            return this;
        }

        /**
         * @param n empty rounds followed by {@link Thread#yield()} after the spins, 0 or more
         * @return this
         */
        public Builder yields(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("yields must not be negative: " + n);
            }
            this.yields = n;
            return this;
        }

        /**
         * @param minNanos the first park, at least 1 ns
         * @param maxNanos the longest park, at least {@code minNanos} and at most one second: a
         *     stopped loop's thread notices within it at worst
         * @return this
         */
        public Builder park(long minNanos, long maxNanos) {
            if (minNanos < 1 || maxNanos < minNanos || maxNanos > 1_000_000_000L) {
                throw new IllegalArgumentException("park times must satisfy 1 <= min <= max <= 1e9 ns: " + minNanos
                        + ".." + maxNanos);
            }
            this.minParkNanos = minNanos;
            this.maxParkNanos = maxNanos;
            return this;
        }

        /** @return the strategy */
        public IdleStrategy build() {
            return new IdleStrategy(false, spins, yields, minParkNanos, maxParkNanos);
        }
    }
}
