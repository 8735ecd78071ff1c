package io.jvhost.misuse;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import io.jvhost.testing.ForkedJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The reflective misuse fuzz (every public constructor and method, boundary arguments, two threads,
 * before and after Eal.close()) in a child JVM, which must exit normally. A new seed each run,
 * printed with the failing calls; replay with {@code -Djvhost.fuzz.seed=N}.
 */
class ReflectiveMisuseFuzzTest {
    @Test
    void everyPublicMethodWithBoundaryArgumentsNeverCrashesTheJvm() throws Exception {
        long seed = Long.getLong("jvhost.fuzz.seed", System.nanoTime());
        int calls = Integer.getInteger("jvhost.fuzz.calls", 12_000);
        Path callLog = Files.createTempFile("jvhost-rfuzz-calls", ".log");
        ForkedJvm.Result r = ForkedJvm.run(ReflectiveMisuseFuzz.class, List.of("-Xss1m", "-Xmx512m"),
                Long.toString(seed), Integer.toString(calls), callLog.toString());
        List<String> log = Files.readAllLines(callLog);
        Files.delete(callLog);
        int tail = Integer.getInteger("jvhost.fuzz.tail", 30);
        String last = String.join("\n", log.subList(Math.max(0, log.size() - tail), log.size()));
        assertThat("reflective misuse fuzz, seed " + seed + " (replay: -Djvhost.fuzz.seed=" + seed + "): " + r
                + "\nthe last calls made:\n" + last, r.exitCode(), equalTo(0));
        Matcher m = Pattern.compile("REFLECTIVE FUZZ PASSED seed " + seed + ": (\\d+) calls, (\\d+) worked, (\\d+) refused")
                .matcher(r.output());
        assertThat(r.output(), m.find(), equalTo(true));
        assertThat("at least 10,000 calls", Integer.parseInt(m.group(1)), greaterThan(9_999));
        // not vacuous: calls both worked and were refused
        assertThat(r.output(), Long.parseLong(m.group(2)), greaterThan(1000L));
        assertThat(r.output(), Long.parseLong(m.group(3)), greaterThan(1000L));
        assertThat(r.output(), containsString("public constructors and methods"));
    }
}
