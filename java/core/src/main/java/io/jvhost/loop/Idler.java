package io.jvhost.loop;

import java.util.concurrent.locks.LockSupport;

/** One loop thread's state of an {@link IdleStrategy}: its run of empty rounds. Not thread-safe. */
final class Idler {
    /** What the next empty round does; for tests. */
    enum Stage {
        NONE, SPIN, YIELD, PARK
    }

    private final IdleStrategy strategy;
    private final long spinsEnd;
    private final long yieldsEnd;
    private long empty;
    private long park;

    Idler(IdleStrategy strategy) {
        this.strategy = strategy;
        this.spinsEnd = strategy.spins();
        this.yieldsEnd = spinsEnd + strategy.yields();
        this.park = strategy.minParkNanos();
    }

    /**
     * Called after every round.
     *
     * @param work what the round did; 0 = nothing
     */
    void idle(int work) {
        if (work > 0) {
            empty = 0;
            park = strategy.minParkNanos();
            return;
        }
        switch (next()) {
            case NONE -> {
            }
            case SPIN -> Thread.onSpinWait();
            case YIELD -> Thread.yield();
            case PARK -> LockSupport.parkNanos(this, park);
            default -> throw new AssertionError();
        }
        advance();
    }

    /** @return what the next empty round will do */
    Stage next() {
        if (strategy.isBusySpin()) {
            return Stage.NONE;
        }
        return empty < spinsEnd ? Stage.SPIN : empty < yieldsEnd ? Stage.YIELD : Stage.PARK;
    }

    /** @return the next park's length in nanoseconds, if the next round parks */
    long parkNanos() {
        return park;
    }

    private void advance() {
        if (strategy.isBusySpin()) {
            return;
        }
        if (empty >= yieldsEnd) {
            park = Math.min(park * 2, strategy.maxParkNanos());
        }
        empty++;
    }
}
