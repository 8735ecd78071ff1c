package io.jvhost.eal;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jvhost.testing.ForkedJvm;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** EAL cases that need a process of their own: each runs {@link EalProbe} in a fresh JVM. */
class EalForkedTest {
    private static ForkedJvm.Result probe(String scenario) throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(EalProbe.class, scenario);
        assertThat("scenario " + scenario + ": " + r, r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("PROBE DONE"));
        return r;
    }

    @Test
    void unknownOptionIsRefusedWithDpdksMessage() throws Exception {
        ForkedJvm.Result r = probe("bad-option");
        // getopt's message, logged by EAL, and rte_errno EINVAL (22)
        assertThat(r.output(), containsString("EALEXCEPTION errno=22"));
        assertThat(r.output(), containsString("DPDK refused to start EAL"));
        // getopt's complaint, printed by DPDK to stderr, is in the exception; its usage text is not
        assertThat(r.output(), containsString("unrecognized option '--no-such-option'|"));
        assertThat(r.output(), containsString("Invalid argument"));
        assertThat(r.output(), not(containsString("EAL common options")));
    }

    @Test
    void lcoreOnMissingCpuIsRefused() throws Exception {
        ForkedJvm.Result r = probe("bad-lcores");
        assertThat(r.output(), containsString("EALEXCEPTION errno=22"));
        assertThat(r.output(), containsString("DPDK said:"));
    }

    @Test
    void aRefusedStartTaintsTheProcess() throws Exception {
        // A DPDK 22.11 fact: rte_eal_init keeps option state from a refused call, so a corrected
        // second call is refused too ("Option --lcores is ignored, because (--lcores) is set!").
        ForkedJvm.Result r = probe("bad-then-good");
        assertThat(r.output(), containsString("EALEXCEPTION errno=22"));
        assertThat(r.output(), containsString("--lcores is ignored"));
        assertThat(r.output(), containsString("start EAL in a fresh process"));
    }

    @Test
    void secondStartThrowsAndLeavesTheFirstRunning() throws Exception {
        ForkedJvm.Result r = probe("double-start");
        assertThat(r.output(), containsString("EALEXCEPTION errno=114")); // EALREADY
        assertThat(r.output(), containsString("already runs in this process"));
        assertThat(r.output(), containsString("already called initialization"));
        assertThat(r.output(), containsString("FIRST STILL OPEN: true lcores=1"));
    }

    @Test
    void startAfterCloseThrows() throws Exception {
        ForkedJvm.Result r = probe("start-after-close");
        assertThat(r.output(), containsString("EALEXCEPTION errno=114"));
        assertThat(r.output(), containsString("cannot start it again"));
        assertThat(r.output(), containsString("ILLEGALSTATE EAL was closed"));
    }

    @Test
    void noHugeMemoryBeyondTheMachineIsRefusedBeforeDpdkSeesIt() throws Exception {
        // DPDK 22.11 took the JVM down with SIGSEGV on exactly this input.
        ForkedJvm.Result r = probe("huge-memory");
        assertThat(r.output(), containsString("ILLEGALARGUMENT EAL memory -m 500000 MiB with --no-huge"));
    }

    @Test
    void argumentsThatExitTheProcessAreRefused() throws Exception {
        ForkedJvm.Result r = probe("help");
        assertThat(r.output(), containsString("ILLEGALARGUMENT EAL argument '--help'"));
        assertThat(r.output(), containsString("ILLEGALARGUMENT EAL argument '-h'"));
        assertThat(r.output(), containsString("ILLEGALARGUMENT EAL argument '-d'"));
    }

    @Test
    void closedEalRefusesUse() throws Exception {
        ForkedJvm.Result r = probe("use-after-close");
        assertThat(r.output(), containsString("ILLEGALSTATE EAL was closed"));
    }

    @Test
    void rawArgumentsArePassedVerbatim() throws Exception {
        ForkedJvm.Result r = probe("raw");
        assertThat(r.output(), containsString("STARTED raw [-l, 0, --no-huge, -m, 64, --no-pci, --file-prefix=jvhost-raw-"));
    }

    @Test
    void initLogLinesReachSystemLogger() throws Exception {
        ForkedJvm.Result r = probe("init-logs");
        // EAL's init messages, published to "dpdk.lib.eal" at the mapped level: DPDK's INFO at DEBUG (FINE)
        assertThat(r.output(), matchesPattern("(?s).*LOGRECORD dpdk\\.lib\\.eal FINE EAL: Detected CPU lcores: \\d+.*"));
        assertThat(r.output(), containsString("LOGRECORD dpdk.lib.eal FINE EAL: Selected IOVA mode"));
    }

    @Test
    void hugepagesAreUsedAndGivenBack() throws Exception {
        long freeBytes = Eal.hugepagesFree();
        assumeTrue(freeBytes >= 128L << 20, "needs 64 free 2 MiB hugepages (scripts/setup.sh --hugepages N); have "
                + (freeBytes >> 20) + " MiB");
        ForkedJvm.Result r = probe("hugepages");
        Matcher m = Pattern.compile("free during=(\\d+) before=(\\d+)").matcher(r.output());
        assertThat(r.output(), m.find(), equalTo(true));
        long during = Long.parseLong(m.group(1));
        long before = Long.parseLong(m.group(2));
        assertThat("hugepages taken while EAL runs", before - during, greaterThan(0L));
        Matcher after = Pattern.compile("FREE AFTER (\\d+)").matcher(r.output());
        assertThat(after.find(), equalTo(true));
        assertThat("--in-memory gives the hugepages back", Long.parseLong(after.group(1)), equalTo(before));
        assertThat(r.output(), not(containsString("--no-huge")));
    }
}
