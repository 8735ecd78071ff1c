package io.jvhost.misuse;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.ForkedJvm;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The misuse the library issue found crashing the JVM now throws: no public way to make a batch
 * claim packets it does not hold, and {@code Eal.close()} with everything still open closes it
 * all first, so later uses say "closed" instead of touching freed memory.
 */
class CloseWithLiveObjectsTest {
    @Test
    void nothingPublicSetsABatchCountOrHandsOutItsPointers() {
        List<String> methods = Arrays.stream(PacketBatch.class.getMethods()).map(m -> m.getName()).toList();
        for (String internal : List.of("appended", "removedFromFront", "enter", "exit", "pointersAddress")) {
            assertThat(methods, not(org.hamcrest.Matchers.hasItem(internal)));
        }
        try (PacketBatch b = PacketBatch.allocate(32)) {
            IndexOutOfBoundsException e = org.junit.jupiter.api.Assertions.assertThrows(
                    IndexOutOfBoundsException.class, () -> b.packet(3));
            assertThat(e.getMessage(), containsString("packet 3 of a batch of 0"));
            b.close();
            IllegalStateException closed = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalStateException.class, () -> b.packet(0));
            assertThat(closed.getMessage(), containsString("closed"));
        }
    }

    @Test
    void ealCloseClosesBatchesPoolsAndPortsFirst() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(CloseWithLiveObjects.class, "eal-close");
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        String out = r.output();
        assertThat(out, containsString("SCENARIO DONE"));
        assertThat(out, containsString("BEFORE count=10 length=64"));
        assertThat("the default EAL start is quiet about telemetry (--no-telemetry)", out,
                not(containsString("TELEMETRY")));
        assertThat(out, containsString("EAL CLOSED open=false batch open=false pool open=false"));
        assertThat(out, not(containsString("WORKED ")));
        assertThat(out, not(containsString("OTHER ")));
        Matcher refused = Pattern.compile("REFUSED ([^:]+): (.*)").matcher(out);
        int n = 0;
        while (refused.find()) {
            n++;
            String what = refused.group(1);
            String message = refused.group(2);
            if (what.equals("pool create") || what.equals("port open")) {
                assertThat(what, message, containsString("EAL"));
            } else {
                assertThat(what, message, containsString("closed"));
            }
        }
        assertThat(out, n, equalTo(12));
        assertThat(out, containsString("ZERO guest rx 0 tx 0"));
        assertThat(out, containsString("REFUSED packet length: IllegalStateException: packet batch is closed (by Eal.close())"));
        assertThat(out, containsString("REFUSED pool create: IllegalStateException: EAL was closed"));
    }

    @Test
    void aStartRefusedBecauseEalRunsDoesNotClaimAnEarlierRefusal() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(CloseWithLiveObjects.class, "third-start");
        assertThat(r.toString(), r.exitCode(), equalTo(0));
        assertThat(r.output(), containsString("START 2 REFUSED: EAL already runs in this process"));
        assertThat(r.output(), containsString("START 3 REFUSED: EAL already runs in this process"));
        assertThat(r.output(), not(containsString("an earlier start in this process was refused")));
        assertThat(r.output(), containsString("FIRST OPEN true"));
    }
}
