package io.jvhost.misuse;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.jvhost.testing.ForkedJvm;
import org.junit.jupiter.api.Test;

/**
 * 10,000 random API call sequences in a child JVM must end with a normal exit. The seed is new
 * each run (printed on failure; replay with -Djvhost.fuzz.seed=N).
 */
class MisuseFuzzTest {
    @Test
    void randomMisuseNeverCrashesTheJvm() throws Exception {
        long seed = Long.getLong("jvhost.fuzz.seed", System.nanoTime());
        int sequences = Integer.getInteger("jvhost.fuzz.sequences", 10_000);
        ForkedJvm.Result r = ForkedJvm.run(MisuseFuzz.class, java.util.List.of("-Xss1m"), Long.toString(seed),
                Integer.toString(sequences));
        assertThat("misuse fuzz with seed " + seed + " (replay: -Djvhost.fuzz.seed=" + seed + "): " + r,
                r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("MISUSE FUZZ PASSED seed " + seed));
        // not vacuous: live devices were made (and bursts ran on them and on dead ones)
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) devices, (\\d+) packets moved").matcher(r.output());
        assertThat(r.output(), m.find(), equalTo(true));
        assertThat(r.output(), Long.parseLong(m.group(1)) >= 10, equalTo(true));
    }
}
