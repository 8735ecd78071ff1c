package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.SharedEal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The message level against DPDK itself: vhost-user messages through DPDK's
 * vhost_user_msg_handler on a real device, compared with the Java model ({@link IotlbDevice}).
 */
class NativeVhostDeviceTest {
    private static final MemoryRegion LOW = new MemoryRegion(0, 0x7f50_0000_0000L, 0, 0xc000_0000L, 0);
    private static final MemoryRegion HIGH = new MemoryRegion(0x1_0000_0000L, 0x7f60_0000_0000L, 0, 0x4000_0000L, 0);
    private static Map<String, DpdkLogLevel> savedLevels;

    @BeforeAll
    static void quiet() {
        SharedEal.get();
        savedLevels = DpdkLog.types();
        // the message handler logs every message it reads at INFO, refusals at ERR
        DpdkLog.setLevel("lib.vhost.*", DpdkLogLevel.CRITICAL);
    }

    @AfterAll
    static void restore() {
        savedLevels.forEach((type, level) -> {
            if (type.startsWith("lib.vhost.")) {
                DpdkLog.setLevel(type, level);
            }
        });
    }

    private static long host(NativeVhostDevice d, int region) {
        return d.memTable().get(region).backendAddress();
    }

    /**
     * SET_MEM_TABLE while postcopy listens makes DPDK wait for the frontend's ack of the region
     * addresses (vhost_user_postcopy_register); the frontend is the caller, blocked in the
     * request: the reflective fuzz hung there for 20 s. DPDK's read is bounded now, and the
     * message refused.
     */
    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aMessageOnWhichDpdkWaitsForTheFrontendIsRefusedNotHung() {
        try (NativeVhostDevice d = new NativeVhostDevice(1)) {
            d.send(io.jvhost.protocol.FrontendRequest.POSTCOPY_LISTEN, new byte[0]);
            long start = System.nanoTime();
            // DPDK sends the region addresses, waits for an ack that cannot come and fails; its
            // reply then is the addresses (no ack follows), so only the handler's result says it
            assertThat(d.setMemTable(List.of()), equalTo(false));
            assertThat("returned within DPDK's bounded wait", (System.nanoTime() - start) / 1_000_000_000L < 10,
                    equalTo(true));
            d.send(io.jvhost.protocol.FrontendRequest.POSTCOPY_END, new byte[0]);
            assertThat("the device still takes messages", d.queueCount(), equalTo(1));
            // and no message of that exchange is taken for the reply to a later request
            NativeVhostDevice.Reply features = d.send(io.jvhost.protocol.FrontendRequest.GET_FEATURES, new byte[0]);
            assertThat(java.nio.ByteBuffer.wrap(features.bytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0),
                    equalTo(io.jvhost.protocol.FrontendRequest.GET_FEATURES.code()));
        }
    }

    @Test
    void dpdkSetsUpTheDeviceWithIotlbOnEveryQueue() {
        try (NativeVhostDevice d = new NativeVhostDevice(3)) {
            assertThat(d.queueCount(), equalTo(3));
            for (int q = 0; q < 3; q++) {
                assertThat(d.queue(q).freeEntries(), equalTo(2048));
            }
        }
    }

    @Test
    void anUpdateIsTranslatedCutAtTheRegionEndAndInsertedIntoEveryQueue() {
        try (NativeVhostDevice d = new NativeVhostDevice(2)) {
            assertThat(d.setMemTable(List.of(LOW, HIGH)), equalTo(true));
            long low = host(d, 0);
            long high = host(d, 1);
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0x10_0000, 0x2000, 0x7f60_0000_3000L, Access.RW)), equalTo(true));
            long lowEnd = 0x7f50_0000_0000L + 0xc000_0000L;
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0x5000, 0x4000, lowEnd - 0x1000, Access.RO)), equalTo(true));
            for (int q = 0; q < 2; q++) {
                assertThat(d.queue(q).cacheEntries(), contains(
                        new IotlbEntry(0x5000, low + 0xc000_0000L - 0x1000, 0x1000, Access.RO),
                        new IotlbEntry(0x10_0000, high + 0x3000, 0x2000, Access.RW)));
            }
            // outside every region: refused, nothing inserted
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0x9000, 0x1000, 0x1000, Access.RW)), equalTo(false));
            assertThat(d.queue(0).cacheEntries().size(), equalTo(2));
            // a type DPDK does not take from the frontend
            assertThat(d.iotlbMsg(VhostIotlbMsg.of(0x9000, 0x1000, 0x7f50_0000_0000L, Access.RW, IotlbType.MISS)),
                    equalTo(false));
        }
    }

    @Test
    void anUpdateBeforeAnyMemoryTableIsRefused() {
        try (NativeVhostDevice d = new NativeVhostDevice(1)) {
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x7f50_0000_0000L, Access.RW)), equalTo(false));
        }
    }

    @Test
    void anInvalidateWithGarbageInUaddrAndPermRemovesFromEveryQueue() {
        try (NativeVhostDevice d = new NativeVhostDevice(2)) {
            d.setMemTable(List.of(LOW));
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.iotlbMsg(VhostIotlbMsg.update(0x8000, 0x1000, 0x7f50_0000_8000L, Access.RW));
            assertThat(d.iotlbMsg(new VhostIotlbMsg(0x1000, 0x1000, 0xdead_beef, 0x7f, IotlbType.INVALIDATE.wire())),
                    equalTo(true));
            for (int q = 0; q < 2; q++) {
                assertThat(d.queue(q).cacheEntries().size(), equalTo(1));
                assertThat(d.queue(q).cacheEntries().get(0).iova(), equalTo(0x8000L));
            }
        }
    }

    @Test
    void aChangedMemoryTableFlushesEveryQueueAnUnchangedOneNothing() {
        try (NativeVhostDevice d = new NativeVhostDevice(2)) {
            d.setMemTable(List.of(LOW));
            long before = host(d, 0);
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.queue(1).pendingInsert(0x9000, Access.RO);
            assertThat(d.setMemTable(List.of(LOW)), equalTo(true)); // same table, new fds
            assertThat("DPDK kept its old mapping", host(d, 0), equalTo(before));
            assertThat(d.queue(0).cacheEntries().size(), equalTo(1));
            assertThat(d.queue(1).pendingEntries().size(), equalTo(1));
            assertThat(d.setMemTable(List.of(LOW, HIGH)), equalTo(true));
            assertThat(d.queue(0).cacheEntries(), empty());
            assertThat(d.queue(1).cacheEntries(), empty());
            assertThat(d.queue(1).pendingEntries(), empty());
        }
    }

    @Test
    void getVringBaseFlushesThatQueueOnly() {
        try (NativeVhostDevice d = new NativeVhostDevice(2)) {
            d.setMemTable(List.of(LOW));
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.queue(0).pendingInsert(0x9000, Access.RO);
            d.getVringBase(0);
            assertThat(d.queue(0).cacheEntries(), empty());
            assertThat(d.queue(0).pendingEntries(), empty());
            assertThat(d.queue(1).cacheEntries().size(), equalTo(1));
        }
    }

    @Test
    void theDataPathSendsItsMissesOnTheChannelTheFrontendHandedOver() {
        try (NativeVhostDevice d = new NativeVhostDevice(2)) {
            d.setMemTable(List.of(LOW));
            long[] size = {0x10};
            assertThat(d.queue(1).iovaToVva(0x4000, size, Access.WO), equalTo(0L));
            assertThat(d.queue(0).pollMiss(), equalTo(new IotlbMiss(0x4000, Access.WO)));
            d.iotlbMsg(VhostIotlbMsg.update(0x4000, 0x1000, 0x7f50_0000_4000L, Access.RW));
            assertThat(d.queue(1).pendingEntries(), empty());
            assertThat(d.queue(1).iovaToVva(0x4000, size, Access.WO), equalTo(host(d, 0) + 0x4000));
        }
    }

    @Test
    void anUpdateTouchingARingMakesDpdkTranslateItWithReadWriteAccess() {
        // The rings of these queues were never set (SET_VRING_ADDR): they are at IOVA 0, 256
        // entries, so the descriptor ring is [0, 0x1000). An UPDATE overlapping it makes DPDK
        // translate the rings (translate_ring_addresses), asking RW for each: a read-only mapping
        // of a ring sends a MISS for RW. The Java model has no rings; the random traces below stay
        // away from page 0.
        try (NativeVhostDevice d = new NativeVhostDevice(1)) {
            d.setMemTable(List.of(LOW));
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x7f50_0000_0000L, Access.RO)), equalTo(true));
            assertThat(d.queue(0).pollMiss(), equalTo(new IotlbMiss(0, Access.RW)));
            assertThat(d.queue(0).pendingEntries(), contains(new PendingEntry(0, Access.RW)));
            // the read-write answer is ignored (the iova is cached, 5.1), so the ring stays
            // untranslated, and the same UPDATE sends the same MISS again: each answer to it does
            for (int i = 0; i < 3; i++) {
                assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x7f50_0000_0000L, Access.RW)), equalTo(true));
                assertThat(d.queue(0).pollMiss(), equalTo(new IotlbMiss(0, Access.RW)));
                assertThat(d.queue(0).pendingEntries(), contains(new PendingEntry(0, Access.RW)));
                assertThat(d.queue(0).cacheEntries().get(0).perm(), equalTo(Access.RO));
            }
            // an INVALIDATE then the RW update: now the rings translate, no MISS
            assertThat(d.iotlbMsg(VhostIotlbMsg.invalidate(0, 0x1000)), equalTo(true));
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x7f50_0000_0000L, Access.RW)), equalTo(true));
            assertThat(d.queue(0).pollMiss(), equalTo(null));
            assertThat(d.queue(0).pendingEntries(), empty());
        }
    }

    /** Random message traces: DPDK's handler vs the Java model, state compared as they go. */
    @Test
    void theJavaMessageModelAgreesWithDpdksHandler() {
        long seed = Long.getLong("jvhost.iotlb.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        List<List<MemoryRegion>> tables = List.of(List.of(LOW), List.of(LOW, HIGH),
                List.of(new MemoryRegion(0, 0x7f50_0000_0000L, 0, 0x10_0000L, 0), HIGH));
        int queues = 3;
        int state = NativeIotlb.randStateIndex();
        NativeIotlb.srand(seed);
        long[] size = new long[1];
        long[] size2 = new long[1];
        int messages = 0;
        int evictingUpdates = 0;
        try (NativeVhostDevice d = new NativeVhostDevice(queues)) {
            IotlbDevice model = IotlbDevice.exact(queues, new RteRandom(seed), state);
            assertThat(d.setMemTable(tables.get(1)), equalTo(true));
            model.setMemTable(d.memTable());
            List<String> trace = new ArrayList<>();
            for (int step = 0; step < 20_000; step++) {
                if (step == 5000) {
                    d.setMemTable(tables.get(0));
                    model.setMemTable(d.memTable());
                }
                // steps 5000..9999: a fill phase, mostly updates of new pages, so the pools overflow
                boolean fill = step >= 5000 && step < 10_000;
                int k = fill ? 2 + rnd.nextInt(98) : rnd.nextInt(100);
                String what;
                if (k < 1 && rnd.nextInt(20) == 0) {
                    List<MemoryRegion> t = tables.get(rnd.nextInt(tables.size()));
                    boolean ok = d.setMemTable(t);
                    assertThat(ok, equalTo(true));
                    model.setMemTable(d.memTable());
                    what = "SET_MEM_TABLE " + t;
                } else if (k < 2 && rnd.nextInt(20) == 0) {
                    int q = rnd.nextInt(queues);
                    d.getVringBase(q);
                    model.getVringBase(q);
                    what = "GET_VRING_BASE " + q;
                } else if (k < 65) {
                    long page = fill ? step - 4000 : 1 + rnd.nextInt(4999); // page 0: the rings, see above
                    long qva = (rnd.nextInt(4) == 0 ? 0x7f60_0000_0000L : 0x7f50_0000_0000L) + page * 0x1000
                            + (rnd.nextInt(8) == 0 ? 0xbfff_0000L : 0);
                    VhostIotlbMsg m = VhostIotlbMsg.update(page * 0x1000, 0x1000 * (1 + rnd.nextInt(3)), qva,
                            Access.ofWire(1 + rnd.nextInt(3)));
                    if (model.queue(0).freeEntries() == 0 || model.queue(queues - 1).freeEntries() == 0) {
                        evictingUpdates++;
                    }
                    assertThat(m.toString(), d.iotlbMsg(m), equalTo(model.iotlbMsg(m)));
                    what = m.toString();
                } else if (k < 72) {
                    VhostIotlbMsg m = VhostIotlbMsg.invalidate((1 + rnd.nextInt(4999)) * 0x1000L,
                            0x1000L * rnd.nextInt(4));
                    assertThat(d.iotlbMsg(m), equalTo(model.iotlbMsg(m)));
                    what = m.toString();
                } else {
                    int q = rnd.nextInt(queues);
                    long iova = (1 + rnd.nextInt(4999)) * 0x1000L + rnd.nextInt(0x1000);
                    Access perm = Access.ofWire(1 + rnd.nextInt(3));
                    size[0] = 1 + rnd.nextInt(0x1000);
                    size2[0] = size[0];
                    long got = d.queue(q).iovaToVva(iova, size, perm);
                    long want = model.iovaToVva(q, iova, size2, perm);
                    what = "V q" + q + " " + Hex.of(iova) + " " + Hex.of(size2[0]) + " " + perm;
                    assertThat(what, Hex.of(got), equalTo(Hex.of(want)));
                    assertThat(what, d.queue(0).pollMiss(), equalTo(model.queue(0).pollMiss()));
                }
                messages++;
                trace.add(what);
                if (trace.size() > 20) {
                    trace.remove(0);
                }
                if (step % 100 == 0 || step == 19_999) {
                    for (int q = 0; q < queues; q++) {
                        String context = "seed " + seed + ", queue " + q + ", after:\n" + String.join("\n", trace);
                        assertThat(context, d.queue(q).cacheEntries(), equalTo(model.queue(q).cacheEntries()));
                        assertThat(context, d.queue(q).pendingEntries(), equalTo(model.queue(q).pendingEntries()));
                    }
                }
            }
        }
        System.out.printf("message level: %,d messages and lookups, %d updates on a full pool (seed %d)%n",
                messages, evictingUpdates, seed);
        assertThat(evictingUpdates, greaterThan(0));
    }

    @Test
    void javaDeviceModelMemoryTableIsDpdks() {
        try (NativeVhostDevice d = new NativeVhostDevice(1)) {
            d.setMemTable(List.of(LOW, HIGH));
            List<MemoryRegion> t = d.memTable();
            assertThat(t.size(), equalTo(2));
            assertThat(t.get(1).guestPhysicalAddress(), equalTo(HIGH.guestPhysicalAddress()));
            assertThat(t.get(1).frontendAddress(), equalTo(HIGH.frontendAddress()));
            assertThat(t.get(1).size(), equalTo(HIGH.size()));
        }
    }
}
