package io.jvhost.loop;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The back-off's stages, step by step: spins, yields, parks doubling to the bound, back on work. */
class IdlerTest {
    @Test
    void emptyRoundsSpinThenYieldThenParkLongerUpToTheBoundAndWorkResetsAll() {
        IdleStrategy s = IdleStrategy.builder().spins(3).yields(2).park(1_000, 5_000).build();
        Idler idler = new Idler(s);
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            seen.add(idler.next() == Idler.Stage.PARK ? "park " + idler.parkNanos() : idler.next().toString());
            idler.idle(0);
        }
        assertThat(seen, equalTo(List.of("SPIN", "SPIN", "SPIN", "YIELD", "YIELD", "park 1000", "park 2000",
                "park 4000", "park 5000")));
        idler.idle(1);
        assertThat(idler.next(), equalTo(Idler.Stage.SPIN));
        for (int i = 0; i < 5; i++) {
            idler.idle(0);
        }
        assertThat("the park starts short again", idler.parkNanos(), equalTo(1_000L));
        assertThat(idler.next(), equalTo(Idler.Stage.PARK));
    }

    @Test
    void busySpinNeverWaits() {
        Idler idler = new Idler(IdleStrategy.busySpin());
        for (int i = 0; i < 100_000; i++) {
            idler.idle(0);
        }
        assertThat(idler.next(), equalTo(Idler.Stage.NONE));
        assertThat(IdleStrategy.busySpin().isBusySpin(), equalTo(true));
    }

    @Test
    void valuesAreValidatedAndCompareByValue() {
        assertThat(IdleStrategy.builder().build(), equalTo(IdleStrategy.adaptive()));
        assertThat(IdleStrategy.adaptive().maxParkNanos(), equalTo(IdleStrategy.DEFAULT_MAX_PARK_NANOS));
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.builder().spins(-1));
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.builder().park(10, 5));
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.builder().park(0, 5));
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.builder().park(1, 2_000_000_000L));
    }
}
