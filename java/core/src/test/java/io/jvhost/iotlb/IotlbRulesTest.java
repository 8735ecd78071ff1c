package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.jvhost.protocol.Access;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DPDK 22.11's IOTLB rules, one test each, written from lib/vhost/iotlb.c and vhost.c, and checked
 * on all three engines (DPDK itself first).
 */
class IotlbRulesTest {
    private static final long A = 0x7f00_0000_0000L;
    private static final long B = 0x7f00_1000_0000L;
    private static final long TOP = 0xffff_ffff_ffff_f000L; // the last page below 2^64

    private static long[] find(Iotlb t, long iova, long size, Access perm) {
        long[] s = {size};
        long vva = t.cacheFind(iova, s, perm);
        return new long[] {vva, s[0]};
    }

    private static void assertFind(Iotlb t, long iova, long size, Access perm, long vva, long mapped) {
        long[] r = find(t, iova, size, perm);
        assertThat("find " + Hex.of(iova) + " " + Hex.of(size) + " " + perm + ": vva", Hex.of(r[0]), equalTo(Hex.of(vva)));
        assertThat("find " + Hex.of(iova) + " " + Hex.of(size) + " " + perm + ": size", Hex.of(r[1]),
                equalTo(Hex.of(mapped)));
    }

    private static List<Long> iovas(Iotlb t) {
        List<Long> l = new ArrayList<>();
        t.cacheEntries().forEach(e -> l.add(e.iova()));
        return l;
    }

    @Test
    void theCacheIsAListSortedByIova() {
        Engines.each(t -> {
            for (long iova : new long[] {0x5000, 0x1000, TOP, 0x3000, 0, 0x8000_0000_0000_0000L}) {
                t.cacheInsert(iova, A, 0x1000, Access.RW);
            }
            assertThat(iovas(t), contains(0L, 0x1000L, 0x3000L, 0x5000L, 0x8000_0000_0000_0000L, TOP));
            assertThat(t.freeEntries(), equalTo(2048 - 6));
        });
    }

    @Test
    void insertingAnIovaThatIsCachedChangesNothing() {
        // "Entries must be invalidated before being updated. So if iova already in list, assume identical."
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RO);
            t.cacheInsert(0x1000, B, 0x4000, Access.RW);
            assertThat(t.cacheEntries(), contains(new IotlbEntry(0x1000, A, 0x1000, Access.RO)));
            assertFind(t, 0x1000, 0x10, Access.RW, 0, 0);
            assertFind(t, 0x1000, 0x2000, Access.RO, A, 0x1000);
            assertThat(t.freeEntries(), equalTo(2047));
        });
    }

    @Test
    void overlappingEntriesCoexistAndTheLowestContainingOneWins() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x2000, Access.RO);
            t.cacheInsert(0x1800, B, 0x1000, Access.RW);
            assertThat(t.cacheEntries().size(), equalTo(2));
            assertFind(t, 0x1800, 0x100, Access.RO, A + 0x800, 0x100);
            // the newer RW entry does not help: the first entry containing 0x1800 is RO
            assertFind(t, 0x1800, 0x100, Access.WO, 0, 0);
        });
    }

    @Test
    void findJoinsEntriesContiguousInIovaWhateverTheirAddresses() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheInsert(0x2000, B, 0x1000, Access.RW);
            // 0x2000..0x27ff is at B, not at A + 0x1000, yet one address is returned for it all
            assertFind(t, 0x1800, 0x1000, Access.RW, A + 0x800, 0x1000);
            long[] size = {0x1000};
            assertThat(Hex.of(t.iovaToVva(0x1800, size, Access.RW)), equalTo(Hex.of(A + 0x800)));
            assertThat(t.pollMiss(), nullValue());
        });
    }

    @Test
    void findStopsAtAGapAndReportsTheLengthMapped() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheInsert(0x3000, B, 0x1000, Access.RW);
            assertFind(t, 0x1800, 0x2000, Access.RO, A + 0x800, 0x800);
            assertFind(t, 0x2000, 0x10, Access.RO, 0, 0);
            assertFind(t, 0x0, 0x10, Access.RO, 0, 0);
            assertFind(t, 0x1800, 0x800, Access.RO, A + 0x800, 0x800);
        });
    }

    @Test
    void aPermissionFailureAfterAPrefixGivesNoAddressButThePrefixLength() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheInsert(0x2000, B, 0x1000, Access.RO);
            assertFind(t, 0x1800, 0x1000, Access.RW, 0, 0x800);
            assertFind(t, 0x1800, 0x1000, Access.RO, A + 0x800, 0x1000);
        });
    }

    @Test
    void permissionsMustCoverTheAccess() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.WO);
            assertFind(t, 0x1000, 8, Access.RO, 0, 0);
            assertFind(t, 0x1000, 8, Access.RW, 0, 0);
            assertFind(t, 0x1000, 8, Access.WO, A, 8);
        });
    }

    @Test
    void aZeroLengthFindFindsNothing() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            assertFind(t, 0x1000, 0, Access.RO, 0, 0);
            long[] size = {0};
            assertThat(t.iovaToVva(0x1000, size, Access.RO), equalTo(0L));
            assertThat(t.pollMiss(), nullValue());
        });
    }

    @Test
    void addressZeroMeansNotFoundSoTheNextEntrysAddressIsTaken() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, 0, 0x1000, Access.RW);
            t.cacheInsert(0x2000, B, 0x1000, Access.RW);
            assertFind(t, 0x1000, 0x2000, Access.RW, B, 0x2000);
            // a hit at address 0 looks like a miss to the caller, but sends no MISS
            long[] size = {0x10};
            assertThat(t.iovaToVva(0x1000, size, Access.RW), equalTo(0L));
            assertThat(t.pollMiss(), nullValue());
        });
    }

    @Test
    void entriesOfZeroSizeOrReachingTwoToThe64AreKeptButNeverFound() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0, Access.RW);
            t.cacheInsert(TOP, B, 0x1000, Access.RW); // ends exactly at 2^64: end wraps to 0
            t.cacheInsert(0x8000_0000_0000_0000L, B, 0x8000_0000_0000_0001L, Access.RW); // wraps past 2^64
            assertThat(t.cacheEntries().size(), equalTo(3));
            assertFind(t, 0x1000, 1, Access.RO, 0, 0);
            assertFind(t, TOP, 1, Access.RO, 0, 0);
            assertFind(t, 0x8000_0000_0000_0000L, 1, Access.RO, 0, 0);
            // the last byte below 2^64 can only be mapped by an entry that wraps
            t.cacheInsert(TOP - 0x1000, A, 0x1fff, Access.RW);
            assertFind(t, -2L, 1, Access.RO, A + 0x1ffe, 1);
            assertFind(t, -1L, 1, Access.RO, 0, 0);
            // and an update for the same iova cannot fix it (same iova: ignored)
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            assertFind(t, 0x1000, 1, Access.RO, 0, 0);
        });
    }

    @Test
    void removeOfZeroSizeRemovesNothing() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheRemove(0x1000, 0);
            t.cacheRemove(0, 0);
            assertThat(t.cacheEntries().size(), equalTo(1));
        });
    }

    @Test
    void removeTakesWholeEntriesThatOverlapAndTheOneStartingRightAfter() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheInsert(0x2000, A, 0x1000, Access.RW);
            t.cacheInsert(0x3000, A, 0x1000, Access.RW);
            t.cacheInsert(0x4000, A, 0x1000, Access.RW);
            t.cacheInsert(0x5000, A, 0x1000, Access.RW);
            // [0x2800, 0x3000) overlaps only the entry at 0x2000, but the one at 0x3000 goes too
            t.cacheRemove(0x2800, 0x800);
            assertThat(iovas(t), contains(0x1000L, 0x4000L, 0x5000L));
            // the entry ending right where the range starts stays
            t.cacheRemove(0x2000, 0x1);
            assertThat(iovas(t), contains(0x1000L, 0x4000L, 0x5000L));
            // a single byte in the middle removes the whole entry (no split)
            t.cacheRemove(0x5800, 1);
            assertThat(iovas(t), contains(0x1000L, 0x4000L));
            assertThat(t.freeEntries(), equalTo(2046));
        });
    }

    @Test
    void removeOfARangeThatWrapsAtTwoToThe64MissesEntriesAboveItsWrappedEnd() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.cacheInsert(TOP - 0x1000, B, 0x1000, Access.RW);
            // [TOP - 0x2000, 2^64 + 0x1000) covers the entry at TOP - 0x1000, but its end wraps to
            // 0x1000 and the scan stops at the first entry above that
            t.cacheRemove(TOP - 0x2000, 0x4000);
            assertThat(iovas(t), contains(0x1000L, TOP - 0x1000));
            assertFind(t, TOP - 0x1000, 0x1000, Access.RW, B, 0x1000);
            // the same range without the wrap removes it
            t.cacheRemove(TOP - 0x2000, 0x2000);
            assertThat(iovas(t), contains(0x1000L));
        });
    }

    @Test
    void aZeroSizeEntryIsOnlyRemovedByARangeFromBelowIt() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0, Access.RW);
            t.cacheRemove(0x1000, 0x1000);
            assertThat(iovas(t), contains(0x1000L));
            t.cacheRemove(0x0, 0x1000); // ends right at it
            assertThat(t.cacheEntries(), empty());
        });
    }

    @Test
    void pendingMissMatchesIovaAndPermExactly() {
        Engines.each(t -> {
            t.pendingInsert(0x1000, Access.RW);
            assertThat(t.pendingMiss(0x1000, Access.RW), equalTo(true));
            assertThat(t.pendingMiss(0x1000, Access.RO), equalTo(false));
            assertThat(t.pendingMiss(0x1001, Access.RW), equalTo(false));
            t.pendingInsert(0x1000, Access.RW); // no check for duplicates
            assertThat(t.pendingEntries().size(), equalTo(2));
            assertThat(t.freeEntries(), equalTo(2046));
        });
    }

    @Test
    void pendingRemoveTakesARangeAndPermissionsThatAreASubset() {
        Engines.each(t -> {
            t.pendingInsert(0x1000, Access.RO);
            t.pendingInsert(0x1000, Access.RW);
            t.pendingInsert(0x2000, Access.WO);
            t.pendingInsert(0x3000, Access.RO);
            t.pendingRemove(0x1000, 0x2000, Access.RO); // RO only; 0x3000 is outside
            assertThat(t.pendingMiss(0x1000, Access.RO), equalTo(false));
            assertThat(t.pendingMiss(0x1000, Access.RW), equalTo(true));
            assertThat(t.pendingMiss(0x2000, Access.WO), equalTo(true));
            assertThat(t.pendingMiss(0x3000, Access.RO), equalTo(true));
            t.pendingRemove(0x1000, 0x2000, Access.RW); // [0x1000, 0x3000)
            assertThat(t.pendingEntries(), contains(new PendingEntry(0x3000, Access.RO)));
            t.pendingRemove(0x3000, 0, Access.RW); // empty range
            t.pendingRemove(TOP, 0x2000, Access.RW); // wraps: empty in uint64_t
            t.pendingInsert(TOP, Access.RO);
            t.pendingRemove(TOP, 0x1000, Access.RW); // [TOP, 2^64): the end wraps to 0, so empty too
            assertThat(t.pendingEntries().size(), equalTo(2));
        });
    }

    @Test
    void aCacheInsertRemovesThePendingMissesItAnswers() {
        Engines.each(t -> {
            t.pendingInsert(0x1000, Access.RO);
            t.pendingInsert(0x1800, Access.RW);
            t.pendingInsert(0x2000, Access.RO);
            t.cacheInsert(0x1000, A, 0x1000, Access.RO);
            // RO update: the RW miss inside stays pending, the one at 0x2000 is outside
            assertThat(t.pendingMiss(0x1000, Access.RO), equalTo(false));
            assertThat(t.pendingMiss(0x1800, Access.RW), equalTo(true));
            assertThat(t.pendingMiss(0x2000, Access.RO), equalTo(true));
            // an ignored update (same iova) still removes pending entries
            t.cacheInsert(0x1000, B, 0x2000, Access.RW);
            assertThat(t.pendingEntries(), empty());
            assertThat(t.cacheEntries(), contains(new IotlbEntry(0x1000, A, 0x1000, Access.RO)));
        });
    }

    @Test
    void aReadOnlyAnswerToAWriteMissLeavesItPendingSoItIsNeverAskedAgain() {
        Engines.each(t -> {
            long[] size = {0x100};
            assertThat(t.iovaToVva(0x1000, size, Access.RW), equalTo(0L));
            assertThat(t.pollMiss(), equalTo(new IotlbMiss(0x1000, Access.RW)));
            t.cacheInsert(0x1000, A, 0x1000, Access.RO); // the frontend's UPDATE: read only
            t.cacheRemove(0x1000, 0x1000); // later INVALIDATE (the guest remaps, now writable)
            assertThat(t.iovaToVva(0x1000, size, Access.RW), equalTo(0L));
            assertThat("no second MISS: (0x1000, RW) is still pending", t.pollMiss(), nullValue());
            assertThat(t.pendingEntries(), contains(new PendingEntry(0x1000, Access.RW)));
        });
    }

    @Test
    void iovaToVvaHitsMissesAndSendsOneMissPerPendingEntry() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            long[] size = {0x1000};
            assertThat(t.iovaToVva(0x1000, size, Access.RO), equalTo(A));
            assertThat(size[0], equalTo(0x1000L));
            size[0] = 0x1800;
            assertThat(t.iovaToVva(0x1000, size, Access.RO), equalTo(0L));
            assertThat("unchanged on a miss", size[0], equalTo(0x1800L));
            assertThat("the miss is for the first byte not mapped", t.pollMiss(), equalTo(new IotlbMiss(0x2000, Access.RO)));
            assertThat(t.iovaToVva(0x1000, size, Access.RO), equalTo(0L));
            assertThat(t.pollMiss(), nullValue());
            assertThat(t.iovaToVva(0x1000, size, Access.RW), equalTo(0L));
            assertThat(t.pollMiss(), equalTo(new IotlbMiss(0x2000, Access.RW)));
            t.cacheInsert(0x2000, B, 0x1000, Access.RW);
            assertThat(t.pendingEntries(), empty());
            assertThat(t.iovaToVva(0x1000, size, Access.RW), equalTo(A));
        });
    }

    @Test
    void aMissThatCannotBeSentIsRemovedWithItsSubsetPermissions() {
        Engines.each(t -> {
            t.pendingInsert(0x1000, Access.RO);
            t.pendingInsert(0x1000, Access.WO);
            t.pendingInsert(0x1001, Access.RO);
            t.disconnectFrontend();
            long[] size = {8};
            t.iovaToVva(0x1000, size, Access.RW);
            assertThat(t.pollMiss(), nullValue());
            // pending_remove(vq, iova, 1, RW): every perm at 0x1000 goes, 0x1001 stays
            assertThat(t.pendingEntries(), contains(new PendingEntry(0x1001, Access.RO)));
        });
    }

    @Test
    void cacheAndPendingShareOnePoolOf2048() {
        Engines.each(t -> {
            for (int i = 0; i < 2000; i++) {
                t.cacheInsert((long) i << 12, A, 0x1000, Access.RW);
            }
            for (int i = 0; i < 48; i++) {
                t.pendingInsert(0x1_0000_0000L + i, Access.RO);
            }
            assertThat(t.freeEntries(), equalTo(0));
            // pending insert, pool empty, pending not empty: all pending entries are dropped
            t.pendingInsert(0x2_0000_0000L, Access.RO);
            assertThat(t.pendingEntries(), contains(new PendingEntry(0x2_0000_0000L, Access.RO)));
            assertThat(t.cacheEntries().size(), equalTo(2000));
            assertThat(t.freeEntries(), equalTo(47));
        });
    }

    @Test
    void aFullPoolEvictsForACacheInsertEvenOfACachedIova() {
        Engines.each(7, t -> {
            for (int i = 0; i < 2048; i++) {
                t.cacheInsert((long) i << 12, A, 0x1000, Access.RW);
            }
            t.cacheInsert(0, B, 0x1000, Access.RW); // already cached: inserts nothing, but evicts one
            assertThat(t.cacheEntries().size(), equalTo(2047));
            assertThat(t.freeEntries(), equalTo(1));
        });
    }

    @Test
    void evictionTakesEntryRteRandModuloCountInIovaOrder() {
        long seed = 12345;
        int state = NativeIotlbStateHolder.state();
        RteRandom r = new RteRandom(seed);
        List<Long> expected = new ArrayList<>();
        for (int i = 0; i < 2048; i++) {
            expected.add((long) i << 12);
        }
        for (int k = 0; k < 5; k++) {
            int idx = (int) Long.remainderUnsigned(r.rand(state), expected.size());
            expected.remove(idx);
            expected.add((long) (2048 + k) << 12);
        }
        Engines.each(seed, t -> {
            for (int i = 0; i < 2048 + 5; i++) {
                t.cacheInsert((long) i << 12, A, 0x1000, Access.RW);
            }
            assertThat(iovas(t), equalTo(expected));
        });
    }

    @Test
    void aFullPoolOfPendingEntriesIsDroppedForACacheInsertOnAnEmptyCache() {
        Engines.each(t -> {
            for (int i = 0; i < 2048; i++) {
                t.pendingInsert(i, Access.RO);
            }
            t.cacheInsert(0x10_0000, A, 0x1000, Access.RO);
            assertThat(t.pendingEntries(), empty());
            assertThat(t.cacheEntries().size(), equalTo(1));
        });
    }

    @Test
    void aFullPoolOfCacheEntriesEvictsOneForAPendingInsert() {
        Engines.each(3, t -> {
            for (int i = 0; i < 2048; i++) {
                t.cacheInsert((long) i << 12, A, 0x1000, Access.RW);
            }
            t.pendingInsert(0x1_0000_0000L, Access.RO);
            assertThat(t.cacheEntries().size(), equalTo(2047));
            assertThat(t.pendingEntries().size(), equalTo(1));
        });
    }

    @Test
    void flushAllEmptiesBothLists() {
        Engines.each(t -> {
            t.cacheInsert(0x1000, A, 0x1000, Access.RW);
            t.pendingInsert(0x5000, Access.RW);
            t.flushAll();
            assertThat(t.cacheEntries(), empty());
            assertThat(t.pendingEntries(), empty());
            assertThat(t.freeEntries(), equalTo(2048));
        });
    }

    /** The state index the native engine's thread draws from. */
    static final class NativeIotlbStateHolder {
        static int state() {
            io.jvhost.testing.SharedEal.get();
            return NativeIotlb.randStateIndex();
        }
    }
}
