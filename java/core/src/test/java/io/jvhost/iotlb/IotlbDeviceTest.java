package io.jvhost.iotlb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.SharedEal;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The message level (vhost_user.c's vhost_user_iotlb_msg, the flushes of SET_MEM_TABLE and
 * GET_VRING_BASE): the Java model over exact Java queues and over DPDK's own queues.
 */
class IotlbDeviceTest {
    // QEMU maps guest RAM at 0x7f5000000000 (below 3 GiB) and 0x7f6000000000 (above 4 GiB);
    // the backend mmapped the same regions at other addresses
    private static final MemoryRegion LOW = new MemoryRegion(0, 0x7f50_0000_0000L, 0x7a00_0000_0000L, 0xc000_0000L, 0);
    private static final MemoryRegion HIGH = new MemoryRegion(0x1_0000_0000L, 0x7f60_0000_0000L, 0x7b00_0000_0000L,
            0x4000_0000L, 0);

    private static void each(int queues, Consumer<IotlbDevice> body) {
        body.accept(IotlbDevice.exact(queues, new RteRandom(1), 0));
        SharedEal.get();
        try (NativeIotlb n = new NativeIotlb(queues)) {
            List<Iotlb> views = new java.util.ArrayList<>();
            for (int i = 0; i < queues; i++) {
                views.add(n.queue(i));
            }
            body.accept(new IotlbDevice(views, true));
        }
    }

    @Test
    void anUpdateIsTranslatedThroughTheMemoryTableIntoEveryQueue() {
        each(3, d -> {
            d.setMemTable(List.of(LOW, HIGH));
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0x10_0000, 0x2000, 0x7f60_0000_3000L, Access.RW)), equalTo(true));
            for (int q = 0; q < 3; q++) {
                assertThat(d.queue(q).cacheEntries(),
                        contains(new IotlbEntry(0x10_0000, 0x7b00_0000_3000L, 0x2000, Access.RW)));
            }
        });
    }

    @Test
    void anUpdateIsCutAtTheEndOfItsRegion() {
        each(1, d -> {
            d.setMemTable(List.of(LOW, HIGH));
            // starts 0x1000 before the end of LOW: only 0x1000 bytes get in
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0x5000, 0x4000, 0x7f50_0000_0000L + 0xc000_0000L - 0x1000,
                    Access.RO)), equalTo(true));
            assertThat(d.queue(0).cacheEntries(),
                    contains(new IotlbEntry(0x5000, 0x7a00_0000_0000L + 0xc000_0000L - 0x1000, 0x1000, Access.RO)));
            long[] size = {0x2000};
            assertThat(d.iovaToVva(0, 0x5000, size, Access.RO), equalTo(0L));
            assertThat(d.queue(0).pollMiss(), equalTo(new IotlbMiss(0x6000, Access.RO)));
        });
    }

    @Test
    void anUpdateOutsideEveryRegionOrBeforeAnyTableFails() {
        each(2, d -> {
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x7f50_0000_0000L, Access.RW)), equalTo(false));
            d.setMemTable(List.of(LOW));
            assertThat(d.iotlbMsg(VhostIotlbMsg.update(0, 0x1000, 0x1000, Access.RW)), equalTo(false));
            assertThat(d.iotlbMsg(VhostIotlbMsg.of(0, 0x1000, 0x7f50_0000_0000L, Access.RW, IotlbType.MISS)),
                    equalTo(false));
            assertThat(d.queue(0).cacheEntries(), empty());
            assertThat(d.queue(1).cacheEntries(), empty());
        });
    }

    @Test
    void anInvalidateUsesOnlyIovaAndSizeOnEveryQueue() {
        each(2, d -> {
            d.setMemTable(List.of(LOW));
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.iotlbMsg(VhostIotlbMsg.update(0x8000, 0x1000, 0x7f50_0000_8000L, Access.RW));
            // QEMU's INVALIDATE carries garbage in uaddr and perm
            assertThat(d.iotlbMsg(new VhostIotlbMsg(0x1000, 0x1000, 0xdead_beef, 0x7f, IotlbType.INVALIDATE.wire())),
                    equalTo(true));
            for (int q = 0; q < 2; q++) {
                assertThat(d.queue(q).cacheEntries(),
                        contains(new IotlbEntry(0x8000, 0x7a00_0000_8000L, 0x1000, Access.RW)));
            }
        });
    }

    @Test
    void aChangedMemoryTableFlushesEveryQueueAnUnchangedOneNothing() {
        each(2, d -> {
            d.setMemTable(List.of(LOW));
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.queue(1).pendingInsert(0x9000, Access.RO);
            // same guest addresses and sizes, backend mapped elsewhere: "memory regions not changed"
            d.setMemTable(List.of(new MemoryRegion(0, 0x7f50_0000_0000L, 0x7c00_0000_0000L, 0xc000_0000L, 0)));
            assertThat(d.queue(0).cacheEntries().size(), equalTo(1));
            assertThat(d.queue(1).pendingEntries().size(), equalTo(1));
            d.setMemTable(List.of(LOW, HIGH));
            assertThat(d.queue(0).cacheEntries(), empty());
            assertThat(d.queue(1).cacheEntries(), empty());
            assertThat(d.queue(1).pendingEntries(), empty());
        });
    }

    @Test
    void withoutIommuPlatformTheTableChangeDoesNotFlushAndLookupsUseGuestPhysicalAddresses() {
        IotlbCache q = new IotlbCache(Iotlb.DPDK_POOL_SIZE, new RteRandom(1).forState(0), new BackendChannel());
        IotlbDevice d = new IotlbDevice(List.of(q), false);
        d.setMemTable(List.of(LOW));
        q.cacheInsert(0x1000, 0x5000, 0x1000, Access.RW);
        d.setMemTable(List.of(HIGH));
        assertThat(q.cacheEntries().size(), equalTo(1));
        long[] size = {0x2000};
        assertThat(d.iovaToVva(0, 0x1_3fff_f000L, size, Access.RW), equalTo(0x7b00_0000_0000L + 0x3fff_f000L));
        assertThat("cut at the region's end", size[0], equalTo(0x1000L));
        size[0] = 0x10;
        assertThat(d.iovaToVva(0, 0x1000, size, Access.RW), equalTo(0L));
        assertThat(size[0], equalTo(0L));
        assertThat("no MISS without IOMMU", q.pollMiss(), nullValue());
    }

    @Test
    void getVringBaseFlushesThatQueueOnly() {
        each(2, d -> {
            d.setMemTable(List.of(LOW));
            d.iotlbMsg(VhostIotlbMsg.update(0x1000, 0x1000, 0x7f50_0000_1000L, Access.RW));
            d.queue(0).pendingInsert(0x9000, Access.RO);
            d.getVringBase(0);
            assertThat(d.queue(0).cacheEntries(), empty());
            assertThat(d.queue(0).pendingEntries(), empty());
            assertThat(d.queue(1).cacheEntries().size(), equalTo(1));
        });
    }

    @Test
    void theQueuesOfADeviceShareOneBackendChannel() {
        each(2, d -> {
            long[] size = {8};
            d.iovaToVva(0, 0x1000, size, Access.RO);
            d.iovaToVva(1, 0x2000, size, Access.WO);
            assertThat(d.queue(1).pollMiss(), equalTo(new IotlbMiss(0x1000, Access.RO)));
            assertThat(d.queue(0).pollMiss(), equalTo(new IotlbMiss(0x2000, Access.WO)));
        });
    }
}
