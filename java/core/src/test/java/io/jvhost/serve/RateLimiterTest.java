package io.jvhost.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The source's token bucket on a clock the test moves: rate kept, catch-up after a stall bounded. */
class RateLimiterTest {
    private static final long MS = 1_000_000L;

    /** Polls every {@code step} ns for {@code duration} ns, sending all it may; returns the total. */
    private static long run(RateLimiter r, long[] clock, long step, long duration) {
        long total = 0;
        for (long end = clock[0] + duration; clock[0] < end; ) {
            clock[0] += step;
            int n = r.allowed(clock[0], PortServer.BURST);
            r.sent(n);
            total += n;
        }
        return total;
    }

    @Test
    void keepsTheRateWhenPolledOften() {
        long[] clock = {5_000_000_000L};
        RateLimiter r = new RateLimiter(100_000, PortServer.BURST, clock[0]);
        assertThat(run(r, clock, 3_000, 1_000 * MS), equalTo(100_000L)); // 3 us polls, fractions carried
        RateLimiter slow = new RateLimiter(7, PortServer.BURST, clock[0]);
        assertThat(run(slow, clock, 50 * MS, 10_000 * MS), equalTo(70L));
    }

    @Test
    void aStallIsNotCaughtUp() {
        long[] clock = {0};
        RateLimiter r = new RateLimiter(100_000, PortServer.BURST, clock[0]);
        clock[0] += 5_000 * MS; // no frontend for 5 s: 500,000 packets' worth of missed time
        int first = r.allowed(clock[0], Integer.MAX_VALUE);
        assertThat("at most 1 ms of packets (100) comes back", first, equalTo(100));
        r.sent(first);
        // the second after the stall sends the rate, plus at most that bucket
        long next = run(r, clock, 10_000, 1_000 * MS);
        assertThat(next + first, lessThanOrEqualTo(100_000L + 100));
        assertThat(next, equalTo(100_000L));
    }

    @Test
    void theBucketHoldsAtLeastOneBurst() {
        long[] clock = {0};
        RateLimiter r = new RateLimiter(1_000, PortServer.BURST, clock[0]); // 1 ms = 1 packet < a burst
        clock[0] += 10_000 * MS;
        assertThat(r.allowed(clock[0], Integer.MAX_VALUE), equalTo(PortServer.BURST));
        assertThat("max caps what one call allows", r.allowed(clock[0], 8), equalTo(8));
    }

    @Test
    void extremeRatesAndStallsDoNotOverflow() {
        long[] clock = {Long.MAX_VALUE - 10 * MS};
        RateLimiter r = new RateLimiter(Long.MAX_VALUE, PortServer.BURST, clock[0]);
        clock[0] += 5 * MS; // across nothing odd: nanoTime differences stay meaningful
        assertThat(r.allowed(clock[0], PortServer.BURST), equalTo(PortServer.BURST));
        RateLimiter one = new RateLimiter(1, 1, 0);
        assertThat(one.allowed(Long.MAX_VALUE, 5), equalTo(1));
        assertThat("a clock that goes back adds nothing", one.allowed(0, 5), equalTo(1));
        assertThrows(IllegalArgumentException.class, () -> new RateLimiter(0, 32, 0));
    }
}
