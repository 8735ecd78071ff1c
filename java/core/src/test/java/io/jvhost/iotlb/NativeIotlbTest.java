package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.Message;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.SharedEal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The native engine itself: DPDK's functions on a standalone device, its channel, its guards. */
class NativeIotlbTest {
    @BeforeAll
    static void eal() {
        SharedEal.get();
    }

    @Test
    void aMissSendsTheExactVhostUserMessageOnTheBackendChannel() {
        try (NativeIotlb n = new NativeIotlb()) {
            long[] size = {0x100};
            long vva = n.iovaToVva(0, 0x1234_5678_9000L, size, Access.WO);
            assertThat(vva, equalTo(0L));
            assertThat("DPDK leaves the length alone on a miss", size[0], equalTo(0x100L));

            byte[] bytes = n.readBackendRequestBytes();
            // VhostUserMsg header (12 bytes, packed) + struct vhost_iotlb_msg (32 bytes)
            assertThat(bytes.length, equalTo(44));
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            assertThat("request: VHOST_USER_SLAVE_IOTLB_MSG", b.getInt(0), equalTo(1));
            assertThat("flags: VHOST_USER_VERSION, no NEED_REPLY", b.getInt(4), equalTo(0x1));
            assertThat("size: sizeof(struct vhost_iotlb_msg)", b.getInt(8), equalTo(32));
            assertThat("iova: the first byte not mapped", b.getLong(12), equalTo(0x1234_5678_9000L));
            assertThat("size field: 0", b.getLong(20), equalTo(0L));
            assertThat("uaddr: 0", b.getLong(28), equalTo(0L));
            assertThat("perm", (int) b.get(36), equalTo(Access.WO.wire()));
            assertThat("type: VHOST_IOTLB_MISS", (int) b.get(37), equalTo(1));

            Message decoded = Message.decode(bytes);
            assertThat(decoded.iotlb(), equalTo(VhostIotlbMsg.miss(0x1234_5678_9000L, Access.WO)));
            assertThat("one miss, one message", n.readBackendRequestBytes(), nullValue());
            assertThat(n.pendingEntries(0), equalTo(List.of(new PendingEntry(0x1234_5678_9000L, Access.WO))));
            assertThat(n.misses(0), equalTo(1L));
        }
    }

    @Test
    void aPartialHitMissesAtTheFirstUnmappedByte() {
        try (NativeIotlb n = new NativeIotlb()) {
            n.cacheInsert(0, 0x1000, 0x7000_0000L, 0x1000, Access.RW);
            long[] size = {0x2000};
            assertThat(n.iovaToVva(0, 0x1800, size, Access.RO), equalTo(0L));
            assertThat(n.readBackendRequest().iotlb().iova(), equalTo(0x2000L));
            size[0] = 0x800;
            assertThat(n.iovaToVva(0, 0x1800, size, Access.RO), equalTo(0x7000_0800L));
            assertThat(n.hits(0), equalTo(1L));
            assertThat(n.misses(0), equalTo(1L));
        }
    }

    @Test
    void aPendingMissIsNotSentTwice() {
        try (NativeIotlb n = new NativeIotlb()) {
            long[] size = {8};
            n.iovaToVva(0, 0x5000, size, Access.RO);
            n.iovaToVva(0, 0x5000, size, Access.RO);
            assertThat(n.readBackendRequest().iotlb().iova(), equalTo(0x5000L));
            assertThat(n.readBackendRequest(), nullValue());
            // another perm is another pending entry
            n.iovaToVva(0, 0x5000, size, Access.RW);
            assertThat(n.readBackendRequest().iotlb().access(), equalTo(Access.RW));
            assertThat(n.pendingEntries(0).size(), equalTo(2));
        }
    }

    @Test
    void aMissThatCannotBeSentIsNotLeftPending() {
        try (NativeIotlb n = new NativeIotlb()) {
            n.disconnectFrontend();
            long[] size = {8};
            n.iovaToVva(0, 0x5000, size, Access.RO);
            assertThat(n.pendingEntries(0), empty());
            assertThat(n.readBackendRequest(), nullValue());
        }
    }

    @Test
    void unreadMissesNeverBlockDpdk() {
        try (NativeIotlb n = new NativeIotlb()) {
            long[] size = {8};
            // far more than a socket buffer holds; each iova is a new miss (pending list grows, then
            // the pool's pending entries are recycled when it runs out)
            for (int i = 0; i < 30_000; i++) {
                n.iovaToVva(0, (long) i << 12, size, Access.RO);
            }
            int read = 0;
            while (n.readBackendRequest() != null) {
                read++;
            }
            assertThat((long) read + n.droppedRequests(), equalTo(30_000L));
        }
    }

    @Test
    void queuesAreIndependentButShareTheChannel() {
        try (NativeIotlb n = new NativeIotlb(3)) {
            n.cacheInsert(1, 0x1000, 0xa000, 0x1000, Access.RW);
            long[] size = {0x10};
            assertThat(n.cacheFind(1, 0x1000, size, Access.RW), equalTo(0xa000L));
            size[0] = 0x10;
            assertThat(n.cacheFind(0, 0x1000, size, Access.RW), equalTo(0L));
            assertThat(size[0], equalTo(0L));
            n.iovaToVva(2, 0x9000, new long[] {1}, Access.RO);
            assertThat(n.readBackendRequest().iotlb().iova(), equalTo(0x9000L));
            assertThat(n.cacheCount(1), equalTo(1));
            assertThat(n.freeEntries(1), equalTo(2047));
            assertThat(n.freeEntries(2), equalTo(2047));
            assertThat(n.freeEntries(0), equalTo(2048));
        }
    }

    @Test
    void manyHandlesAtOnce() {
        List<NativeIotlb> all = new ArrayList<>();
        try {
            for (int i = 0; i < 32; i++) {
                NativeIotlb n = new NativeIotlb();
                n.cacheInsert(0, i, i * 2L + 1, 1, Access.RO);
                all.add(n);
            }
            for (int i = 0; i < 32; i++) {
                assertThat(all.get(i).cacheEntries(0), equalTo(List.of(new IotlbEntry(i, i * 2L + 1, 1, Access.RO))));
            }
        } finally {
            all.forEach(NativeIotlb::close);
        }
    }

    @Test
    void badArgumentsAndClosedHandlesThrow() {
        NativeIotlb n = new NativeIotlb(2);
        assertThrows(IllegalArgumentException.class, () -> n.cacheInsert(0, 0, 0, 1, Access.NONE));
        assertThrows(NullPointerException.class, () -> n.cacheInsert(0, 0, 0, 1, null));
        assertThrows(IllegalArgumentException.class, () -> n.cacheFind(0, 0, new long[1], Access.NONE));
        assertThrows(IllegalArgumentException.class, () -> n.cacheFind(2, 0, new long[1], Access.RO));
        assertThrows(IllegalArgumentException.class, () -> n.cacheFind(-1, 0, new long[1], Access.RO));
        assertThrows(IllegalArgumentException.class, () -> n.cacheFind(0, 0, new long[0], Access.RO));
        assertThrows(NullPointerException.class, () -> n.iovaToVva(0, 0, null, Access.RO));
        assertThrows(IllegalArgumentException.class, () -> n.queue(2));
        assertThrows(IllegalArgumentException.class, () -> new NativeIotlb(0));
        n.close();
        n.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> n.cacheFind(0, 0, new long[1], Access.RO));
        assertThat(e.getMessage(), containsString("closed"));
        assertThrows(IllegalStateException.class, () -> n.readBackendRequest());
        assertThrows(IllegalStateException.class, () -> n.cacheEntries(0));
    }

    @Test
    void closeWaitsForCallsInProgressAndLaterCallsFail() throws Exception {
        NativeIotlb n = new NativeIotlb();
        for (int i = 0; i < 2048; i++) {
            n.cacheInsert(0, (long) i << 12, 0x1_0000_0000L + ((long) i << 12), 0x1000, Access.RW);
        }
        CountDownLatch started = new CountDownLatch(2);
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread th = new Thread(() -> {
                long[] size = {0x1000};
                started.countDown();
                try {
                    for (int i = 0; ; i++) {
                        size[0] = 0x1000;
                        n.cacheFind(0, (long) (i & 2047) << 12, size, Access.RO);
                    }
                } catch (IllegalStateException expected) {
                    // closed under us: the way out
                } catch (Throwable other) {
                    unexpected.set(other);
                }
            });
            th.start();
            threads.add(th);
        }
        started.await();
        Thread.sleep(50);
        n.close();
        for (Thread th : threads) {
            th.join(10_000);
            assertThat(th.isAlive(), equalTo(false));
        }
        assertThat(unexpected.get(), nullValue());
    }

    @Test
    void rteRandPortMatchesDpdk() {
        int state = NativeIotlb.randStateIndex();
        assertThat(NativeIotlb.maxLcore(), equalTo(RteRandom.DPDK_MAX_LCORE));
        for (long seed : new long[] {0, 1, 42, -1, 0x1234_5678_9abc_def0L, Long.MIN_VALUE}) {
            NativeIotlb.srand(seed);
            RteRandom java = new RteRandom(seed);
            for (int i = 0; i < 1000; i++) {
                long expected = NativeIotlb.rand();
                assertThat("seed " + seed + " draw " + i, java.rand(state), equalTo(expected));
            }
        }
    }

    @Test
    void unregisteredThreadsDrawFromTheMainLcoresState() throws Exception {
        int[] index = new int[1];
        Thread t = new Thread(() -> index[0] = NativeIotlb.randStateIndex());
        t.start();
        t.join();
        assertThat(index[0], equalTo(SharedEal.get().mainLcore()));
        try (var reg = SharedEal.get().registerThread()) {
            assertThat(NativeIotlb.randStateIndex(), equalTo(reg.lcoreId()));
            NativeIotlb.srand(7);
            RteRandom java = new RteRandom(7);
            assertThat(java.rand(reg.lcoreId()), equalTo(NativeIotlb.rand()));
        }
    }
}
