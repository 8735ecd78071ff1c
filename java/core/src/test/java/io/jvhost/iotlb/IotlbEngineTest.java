package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.protocol.Access;
import io.jvhost.testing.SharedEal;
import org.junit.jupiter.api.Test;

/** The one factory of the three engines: names, refusals, and engines that answer alike. */
class IotlbEngineTest {
    @Test
    void namesAndRefusals() {
        assertThat(IotlbEngine.of("FAST"), equalTo(IotlbEngine.FAST));
        assertThat(String.join(",", IotlbEngine.labels()), equalTo("native,java,fast"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IotlbEngine.of("slow"));
        assertThat(e.getMessage(), containsString("[native, java, fast]"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> IotlbEngine.NATIVE.open(64, 1L, 0, true))
                .getMessage(), containsString("DPDK's, 2048 entries"));
        assertThrows(IllegalArgumentException.class, () -> IotlbEngine.JAVA.open(0, 1L, 0, true));
    }

    @Test
    void eachEngineIsWhatItSaysAndTranslatesAlike() {
        SharedEal.get();
        for (IotlbEngine engine : IotlbEngine.values()) {
            try (IotlbEngine.Opened opened = engine.open(Iotlb.DPDK_POOL_SIZE, 7L, 0, true)) {
                Iotlb iotlb = opened.iotlb();
                if (engine == IotlbEngine.JAVA) {
                    assertThat(iotlb, instanceOf(IotlbCache.class));
                } else if (engine == IotlbEngine.FAST) {
                    assertThat(iotlb, instanceOf(FastIotlbCache.class));
                }
                iotlb.cacheInsert(0x1000, 0x7000_0000L, 0x2000, Access.RW);
                long[] size = {0x800};
                assertThat(engine.label(), iotlb.cacheFind(0x1800, size, Access.RO), equalTo(0x7000_0800L));
            }
        }
    }
}
