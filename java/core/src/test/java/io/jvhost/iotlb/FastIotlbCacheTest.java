package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.protocol.Access;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What only the fast engine has: its own eviction policy. */
class FastIotlbCacheTest {
    private static List<Long> iovas(Iotlb t) {
        List<Long> l = new ArrayList<>();
        t.cacheEntries().forEach(e -> l.add(e.iova()));
        return l;
    }

    @Test
    void byDefaultAFullPoolEvictsTheEntryInsertedLongestAgo() {
        FastIotlbCache c = new FastIotlbCache(4, FastIotlbCache.EvictionPolicy.oldest(), new BackendChannel());
        c.cacheInsert(0x3000, 1, 0x1000, Access.RW);
        c.cacheInsert(0x1000, 1, 0x1000, Access.RW);
        c.cacheInsert(0x4000, 1, 0x1000, Access.RW);
        c.cacheInsert(0x2000, 1, 0x1000, Access.RW);
        c.cacheInsert(0x5000, 1, 0x1000, Access.RW);
        assertThat(iovas(c), contains(0x1000L, 0x2000L, 0x4000L, 0x5000L));
        c.cacheInsert(0x3000, 1, 0x1000, Access.RW);
        assertThat(iovas(c), contains(0x2000L, 0x3000L, 0x4000L, 0x5000L));
        // re-inserting a cached iova does not make it younger (DPDK ignores it), but evicts
        c.cacheInsert(0x5000, 1, 0x1000, Access.RW);
        assertThat(iovas(c), contains(0x2000L, 0x3000L, 0x5000L));
        // and the entry evicted first may be the one being inserted, which then goes in anew
        c.cacheInsert(0x1000, 1, 0x1000, Access.RW);
        c.cacheInsert(0x2000, 1, 0x1000, Access.RW);
        assertThat(iovas(c), contains(0x1000L, 0x2000L, 0x3000L, 0x5000L));
    }

    @Test
    void theDefaultConstructorHasDpdksPool() {
        FastIotlbCache c = new FastIotlbCache();
        assertThat(c.poolSize(), equalTo(2048));
        assertThat(c.freeEntries(), equalTo(2048));
    }

    @Test
    void aPolicyThatChoosesOutsideTheCacheIsAnError() {
        FastIotlbCache c = new FastIotlbCache(1, cache -> 5, new BackendChannel());
        c.cacheInsert(0, 1, 1, Access.RO);
        assertThrows(IllegalStateException.class, () -> c.cacheInsert(1, 1, 1, Access.RO));
    }

    @Test
    void badPermissionsAreRefusedByTheJavaEngines() {
        for (Iotlb t : List.of(new FastIotlbCache(), new IotlbCache())) {
            assertThrows(IllegalArgumentException.class, () -> t.cacheInsert(0, 0, 1, Access.NONE));
            assertThrows(IllegalArgumentException.class, () -> t.cacheFind(0, new long[] {1}, Access.NONE));
            assertThrows(NullPointerException.class, () -> t.pendingInsert(0, null));
            assertThrows(IllegalArgumentException.class, () -> t.pendingMiss(0, Access.NONE));
            assertThrows(IllegalArgumentException.class, () -> t.pendingRemove(0, 1, Access.NONE));
            assertThrows(IllegalArgumentException.class, () -> t.iovaToVva(0, new long[] {1}, Access.NONE));
        }
        assertThrows(IllegalArgumentException.class, () -> new FastIotlbCache(0, c -> 0, new BackendChannel()));
        assertThrows(IllegalArgumentException.class, () -> new IotlbCache(0, () -> 0, new BackendChannel()));
    }

    @Test
    void theBackendChannelKeepsTheNewestMessagesWhenLeftUnread() {
        BackendChannel ch = new BackendChannel();
        for (int i = 0; i < BackendChannel.CAPACITY + 10; i++) {
            ch.send(new IotlbMiss(i, Access.RO));
        }
        assertThat(ch.dropped(), equalTo(10L));
        assertThat(ch.poll(), equalTo(new IotlbMiss(10, Access.RO)));
    }
}
