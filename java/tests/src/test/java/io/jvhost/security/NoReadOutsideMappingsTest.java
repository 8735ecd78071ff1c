package io.jvhost.security;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

import io.jvhost.frontend.GuestMemory;
import io.jvhost.frontend.GuestMemoryFiles;
import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.VhostUserConnection;
import io.jvhost.frontend.VirtioNetFrontend;
import io.jvhost.frontend.VirtualIommu;
import io.jvhost.frontend.VringLayout;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.Translation;
import io.jvhost.vhost.VhostDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * No byte the frontend did not make readable is read by the backend, with the vIOMMU on: hostile
 * transmit descriptors (and indirect tables) point into pages that are not in the IOMMU, or are
 * mapped write-only, or cross into such pages from a readable one; jvhost dequeues from them.
 *
 * <p>Two independent checks. <b>Pages:</b> the forbidden pages are never touched by the frontend,
 * so in their tmpfs files they are holes, and any read through any mapping (DPDK's included) would
 * allocate them ({@link io.jvhost.testing.TmpfsPages}); the number of allocated pages of each
 * region file must not change. <b>Bytes:</b> other forbidden pages (write-only, unmapped, and
 * the tail of a 100-byte IOTLB entry) hold a canary pattern; no dequeued packet may contain it,
 * and every dequeued packet must be exactly the bytes of readable memory it was described with.
 * Both detectors are shown to work ({@link #theDetectorsWork}).
 *
 * <p>Guest memory: four 2 MiB regions (files). Region 0 holds the frontend's rings and buffers.
 * Region 1 page by page: {@code R} readable (RO in the IOMMU, filled with known bytes),
 * {@code H} a hole, {@code C} canary, {@code W} write-only (an UPDATE with perm WO is pre-sent, so
 * DPDK's IOTLB holds a valid address for it and only its permission check stands in the way),
 * {@code U} unmapped:
 * <pre>
 * page 0 R | 1 H,W | 2 R | 3 H,U | 4 R | 5 C,W | 6 R | 7 C,U | 8 bytes 0..99 R (a 100-byte
 * IOTLB entry, sent raw), 100.. C | 9 and up H,U
 * </pre>
 * Region 2 is all write-only (one pre-sent 2 MiB UPDATE), region 3 unmapped; both are holes.
 */
class NoReadOutsideMappingsTest {
    static final int PAGE = GuestMemory.PAGE_SIZE;
    static final long IOVA_OFFSET = 0x10_0000_0000L; // the frontend's default: IOVA = GPA + 64 GiB
    static final int F_NEXT = 1;
    static final int F_INDIRECT = 4;
    static final byte[] CANARY = "#CANARY!".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** Pages of region 1 the frontend touches: 0, 2, 4, 5, 6, 7, 8. */
    static final int TOUCHED_IN_REGION_1 = 7;

    static PortUnderTest backend;

    @BeforeAll
    static void setUp() throws Exception {
        backend = PortUnderTest.open("jvhost-noread", 4096, true);
    }

    @AfterAll
    static void tearDown() throws Exception {
        backend.close();
    }

    /** A frontend whose memory has the layout of the class comment, and the device it made. */
    static final class Guest implements AutoCloseable {
        final VirtioNetFrontend front;
        final VhostDevice device;
        final GuestMemory mem;
        final VhostUserConnection conn;
        final VringLayout tx;
        final long r1;
        final long r2;
        final long r3;

        Guest() throws Exception {
            int eventsBefore = backend.events.size();
            VhostDevice before = backend.port.currentDevice();
            front = VirtioNetFrontend.builder(backend.port.socket()).queuePairs(1).iommu(IommuMode.QEMU).ringSize(64)
                    .maxFrameSize(2048).regionSize(2L << 20).memorySize(8L << 20).open();
            device = backend.awaitNewDevice(before, eventsBefore);
            mem = front.memory();
            conn = front.connection();
            tx = front.layout(1);
            assertThat(mem.regions(), hasSize(4));
            assertThat("rings and buffers all in region 0", mem.allocatedEnd() < mem.regions().get(1).guestPhysAddr(),
                    is(true));
            r1 = mem.regions().get(1).guestPhysAddr();
            r2 = mem.regions().get(2).guestPhysAddr();
            r3 = mem.regions().get(3).guestPhysAddr();
            settle();
            VirtualIommu iommu = front.iommu();
            for (int p : new int[] {0, 2, 4, 6}) {
                mem.write(page(p), readable(p), 0, PAGE);
                iommu.map(iova(page(p)), page(p), PAGE, Access.RO);
            }
            for (int p : new int[] {1, 5}) {
                iommu.map(iova(page(p)), page(p), PAGE, Access.WO);
                assertThat(rawUpdate(iova(page(p)), page(p), PAGE, 2), equalTo(0L));
            }
            fillCanary(page(5), PAGE);
            fillCanary(page(7), PAGE);
            mem.write(page(8), readable(8), 0, 100);
            fillCanary(page(8) + 100, PAGE - 100);
            assertThat(rawUpdate(iova(page(8)), page(8), 100, 1), equalTo(0L));
            iommu.map(iova(r2), r2, 2L << 20, Access.WO);
            assertThat(rawUpdate(iova(r2), r2, 2L << 20, 2), equalTo(0L));
            // a frame the ordinary way first: this connection works, byte-exact
            byte[] f = Traffic.content(77, 300);
            assertThat(front.send(0, f, 0, f.length), is(true));
            try (PacketBatch b = PacketBatch.allocate(4)) {
                assertThat(Traffic.pollUntil(5_000, () -> device.dequeue(0, backend.pool, b) > 0 || b.count() > 0), is(true));
                assertThat(Traffic.mismatch(b.packet(0), 77, 300), equalTo(null));
                b.clear();
            }
            assertPagesUntouched();
        }

        long page(int p) {
            return r1 + (long) p * PAGE;
        }

        static long iova(long gpa) {
            return gpa + IOVA_OFFSET;
        }

        long rawUpdate(long iova, long gpa, long size, int perm) throws Exception {
            return conn.sendIotlb(new VhostIotlbMsg(iova, size, mem.userAddr(gpa), perm, IotlbType.UPDATE.wire()));
        }

        void fillCanary(long gpa, int len) {
            byte[] b = new byte[len];
            for (int i = 0; i < len; i++) {
                b[i] = CANARY[i % CANARY.length];
            }
            mem.write(gpa, b, 0, len);
        }

        /** Waits until the backend translated every ring and the frontend answered everything. */
        void settle() throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            for (int v = 0; v < device.vringCount(); v++) {
                while (device.vring(v).descAddress() == 0 || device.vring(v).availAddress() == 0
                        || device.vring(v).usedAddress() == 0) {
                    assertThat("vring " + v + " translated in time", System.nanoTime() < deadline, is(true));
                    Thread.sleep(1);
                }
            }
            for (long seen = -1; seen != front.iommu().log().nextSeq();) {
                seen = front.iommu().log().nextSeq();
                Thread.sleep(50);
            }
        }

        void assertPagesUntouched() {
            assertThat("allocated pages of region 1 (only what the frontend touched)",
                    GuestMemoryFiles.allocatedPages(mem.regions().get(1)), equalTo((long) TOUCHED_IN_REGION_1));
            assertThat("allocated pages of region 2 (write-only, untouched)",
                    GuestMemoryFiles.allocatedPages(mem.regions().get(2)), equalTo(0L));
            assertThat("allocated pages of region 3 (unmapped, untouched)",
                    GuestMemoryFiles.allocatedPages(mem.regions().get(3)), equalTo(0L));
        }

        void writeDesc(int i, long addr, int len, int flags, int next) {
            mem.write(tx.descGpa() + 16L * i, desc(addr, len, flags, next), 0, 16);
        }

        /** Makes descriptor {@code head} available (after whatever the frontend published). */
        void publish(int head) {
            byte[] b = new byte[2];
            mem.read(tx.availGpa() + 2, b, 0, 2);
            int idx = (b[0] & 0xff) | (b[1] & 0xff) << 8;
            mem.write(tx.availGpa() + 4 + 2L * (idx % tx.size()), new byte[] {(byte) head, (byte) (head >>> 8)}, 0, 2);
            int next = (idx + 1) & 0xffff;
            mem.write(tx.availGpa() + 2, new byte[] {(byte) next, (byte) (next >>> 8)}, 0, 2);
        }

        /** Dequeues for {@code millis}, returning the bytes of every packet that came. */
        List<byte[]> dequeueFor(long millis) {
            return backend.dequeueFor(device, millis);
        }

        /** The receive side of the same device still works. */
        void assertReceiveWorks() {
            try (PacketBatch out = PacketBatch.allocate(2)) {
                Traffic.fill(backend.pool, out, 5, 1000);
                assertThat(Traffic.pollUntil(5_000, () -> {
                    device.enqueue(0, out);
                    return out.isEmpty();
                }), is(true));
                byte[] got = new byte[front.maxFrameSize()];
                int[] n = {-1};
                assertThat(Traffic.pollUntil(5_000, () -> (n[0] = front.receive(0, got)) >= 0), is(true));
                assertThat(Arrays.copyOf(got, n[0]), equalTo(Traffic.content(5, 1000)));
            }
        }

        @Override
        public void close() {
            int vid = device.vid();
            int from = backend.events.size();
            front.close();
            assertThat("destroyDevice for this frontend",
                    Traffic.pollUntil(5_000, () -> backend.eventsSince(from).contains("destroy " + vid)), is(true));
            assertThat(device.isAlive(), is(false));
        }
    }


    static byte[] desc(long addr, int len, int flags, int next) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(addr).putInt(len).putShort((short) flags)
                .putShort((short) next).array();
    }

    /** The known bytes of readable page {@code p} of region 1. */
    static byte[] readable(int p) {
        byte[] b = new byte[PAGE];
        for (int i = 0; i < PAGE; i++) {
            b[i] = (byte) (p * 17 + i * 3 + (i >> 9));
        }
        return b;
    }

    /** @return whether {@code b} holds 8 consecutive canary bytes (in any phase) */
    static boolean hasCanary(byte[] b) {
        for (int i = 0; i + CANARY.length <= b.length; i++) {
            for (int ph = 0; ph < CANARY.length; ph++) {
                int k = 0;
                while (k < CANARY.length && b[i + k] == CANARY[(ph + k) % CANARY.length]) {
                    k++;
                }
                if (k == CANARY.length) {
                    return true;
                }
            }
        }
        return false;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unmapped-page", "write-only-page", "write-only-canary", "unmapped-canary",
        "crosses-into-write-only", "crosses-into-unmapped", "crosses-into-write-only-canary",
        "crosses-into-unmapped-canary", "overruns-a-100-byte-entry", "chain-into-unmapped", "indirect-entry-unmapped",
        "indirect-entry-crosses", "indirect-table-unmapped", "indirect-table-crosses", "indirect-table-write-only",
        "write-only-region", "unmapped-region", "huge-length-from-readable"})
    void forbiddenPagesAreNeverRead(String c) throws Exception {
        try (Guest g = new Guest()) {
            long p0 = Guest.iova(g.page(0));
            long p2 = Guest.iova(g.page(2));
            long p4 = Guest.iova(g.page(4));
            long p6 = Guest.iova(g.page(6));
            int head = 10; // descriptors 10.. are not used by the frontend's own frame
            switch (c) {
                case "unmapped-page" -> g.writeDesc(head, Guest.iova(g.page(3)), 1000, 0, 0);
                case "write-only-page" -> g.writeDesc(head, Guest.iova(g.page(1)), 1000, 0, 0);
                case "write-only-canary" -> g.writeDesc(head, Guest.iova(g.page(5)), 1000, 0, 0);
                case "unmapped-canary" -> g.writeDesc(head, Guest.iova(g.page(7)), 1000, 0, 0);
                case "crosses-into-write-only" -> g.writeDesc(head, p0 + PAGE - 200, 1000, 0, 0);
                case "crosses-into-unmapped" -> g.writeDesc(head, p2 + PAGE - 200, 1000, 0, 0);
                case "crosses-into-write-only-canary" -> g.writeDesc(head, p4 + PAGE - 200, 1000, 0, 0);
                case "crosses-into-unmapped-canary" -> g.writeDesc(head, p6 + PAGE - 200, 1000, 0, 0);
                case "overruns-a-100-byte-entry" -> g.writeDesc(head, Guest.iova(g.page(8)), 101, 0, 0);
                case "chain-into-unmapped" -> {
                    g.writeDesc(head, p0, 100, F_NEXT, head + 1);
                    g.writeDesc(head + 1, Guest.iova(g.page(3)), 100, 0, 0);
                }
                case "indirect-entry-unmapped" -> {
                    g.mem.write(g.page(0), desc(Guest.iova(g.page(3)), 1000, 0, 0), 0, 16);
                    g.writeDesc(head, p0, 16, F_INDIRECT, 0);
                }
                case "indirect-entry-crosses" -> {
                    g.mem.write(g.page(0), desc(p2 + PAGE - 200, 1000, 0, 0), 0, 16);
                    g.writeDesc(head, p0, 16, F_INDIRECT, 0);
                }
                case "indirect-table-unmapped" -> g.writeDesc(head, Guest.iova(g.page(3)), 64, F_INDIRECT, 0);
                case "indirect-table-crosses" -> {
                    // two entries at the end of readable page 2 (chained), the table goes on into page 3
                    g.mem.write(g.page(2) + PAGE - 32, desc(p0, 100, F_NEXT, 1), 0, 16);
                    g.mem.write(g.page(2) + PAGE - 16, desc(p0 + 100, 100, F_NEXT, 2), 0, 16);
                    g.writeDesc(head, p2 + PAGE - 32, 64, F_INDIRECT, 0);
                }
                case "indirect-table-write-only" -> g.writeDesc(head, Guest.iova(g.page(5)), 64, F_INDIRECT, 0);
                case "write-only-region" -> g.writeDesc(head, Guest.iova(g.r2 + 100 * PAGE), 1500, 0, 0);
                case "unmapped-region" -> g.writeDesc(head, Guest.iova(g.r3 + 100 * PAGE), 1500, 0, 0);
                case "huge-length-from-readable" -> g.writeDesc(head, p0, -1, 0, 0);
                default -> throw new IllegalArgumentException(c);
            }
            g.publish(head);
            List<byte[]> got = g.dequeueFor(300);
            System.out.println("NOREAD " + c + ": " + got.size() + " packets, canary in one: "
                    + got.stream().anyMatch(NoReadOutsideMappingsTest::hasCanary) + ", IOTLB log tail: "
                    + g.front.iommu().log().since(Math.max(0, g.front.iommu().log().nextSeq() - 3)));
            assertThat("no packet carries canary bytes", got.stream().filter(NoReadOutsideMappingsTest::hasCanary)
                    .count(), equalTo(0L));
            assertThat("nothing is dequeued from a descriptor that reaches a forbidden page", got, empty());
            g.assertPagesUntouched();
            g.assertReceiveWorks();
        }
    }

    /**
     * What may be read is read, exactly: a descriptor that ends right at the end of the 100-byte
     * IOTLB entry (canary behind it in the same page), and one over two readable pages.
     */
    @Test
    void readableBytesRightNextToForbiddenOnesComeExactly() throws Exception {
        try (Guest g = new Guest()) {
            g.writeDesc(10, Guest.iova(g.page(8)), 100, 0, 0);
            g.publish(10);
            g.writeDesc(11, Guest.iova(g.page(0)) + 50, 3000, 0, 0);
            g.publish(11);
            List<byte[]> got = g.dequeueFor(300);
            assertThat(got, hasSize(2));
            assertThat(got.get(0), equalTo(Arrays.copyOfRange(readable(8), 12, 100)));
            assertThat(got.get(1), equalTo(Arrays.copyOfRange(readable(0), 62, 3050)));
            g.assertPagesUntouched();
        }
    }

    /**
     * Both detectors detect: a hole read through DPDK's own mapping of the file (jvhost's
     * {@link VhostDevice#read}) and one read through the frontend's mapping are counted, and a
     * canary page made readable (a raw RO UPDATE at another IOVA) comes back in a packet.
     */
    @Test
    void theDetectorsWork() throws Exception {
        try (Guest g = new Guest()) {
            Translation t = g.device.gpaToVva(g.r3 + 300L * PAGE, 8);
            assertThat(t.isMiss(), is(false));
            g.device.read(t.address(), new byte[8], 0, 8);
            assertThat("a read through DPDK's mapping allocates the page",
                    GuestMemoryFiles.allocatedPages(g.mem.regions().get(3)), equalTo(1L));
            g.mem.read(g.r3 + 301L * PAGE, new byte[1], 0, 1);
            assertThat("a read through the frontend's mapping too",
                    GuestMemoryFiles.allocatedPages(g.mem.regions().get(3)), equalTo(2L));
            long x = 0x20_0000_0000L;
            assertThat(g.rawUpdate(x, g.page(5), PAGE, 1), equalTo(0L));
            g.writeDesc(10, x, 1000, 0, 0);
            g.publish(10);
            List<byte[]> got = g.dequeueFor(300);
            assertThat(got, hasSize(1));
            assertThat(hasCanary(got.get(0)), is(true));
            assertThat(hasCanary(readable(0)), is(false));
        }
    }

    /**
     * DPDK 22.11's IOTLB lookup joins entries that are contiguous in IOVA without checking that
     * their addresses are (docs/iotlb.md 5.3), and the data path then copies through the first
     * address for the whole length: a frontend that maps IOVA X to readable page 4 and X+4096 to
     * readable page 0 and describes 6000 bytes at X gets page 4 and then the write-only canary page
     * 5 in its packet; the same with page 0 then page 2 reads hole page 1, which the page count
     * shows. This pins DPDK's behaviour (reads of pages nobody mapped for reading, inside the same
     * region here); a DPDK that checks contiguity makes this test fail, and then the case belongs
     * with the others.
     */
    @Test
    void dpdkJoinsAdjacentIotlbEntriesAndReadsPagesNobodyMapped() throws Exception {
        try (Guest g = new Guest()) {
            long x = 0x20_0000_0000L;
            long y = 0x30_0000_0000L;
            assertThat(g.rawUpdate(x, g.page(4), PAGE, 1), equalTo(0L));
            assertThat(g.rawUpdate(x + PAGE, g.page(0), PAGE, 1), equalTo(0L));
            assertThat(g.rawUpdate(y, g.page(0), PAGE, 1), equalTo(0L));
            assertThat(g.rawUpdate(y + PAGE, g.page(2), PAGE, 1), equalTo(0L));
            g.writeDesc(10, x, 6000, 0, 0);
            g.publish(10);
            g.writeDesc(11, y, 6000, 0, 0);
            g.publish(11);
            List<byte[]> got = g.dequeueFor(300);
            assertThat(got, hasSize(2));
            byte[] wantX = new byte[6000 - 12];
            System.arraycopy(readable(4), 12, wantX, 0, PAGE - 12);
            for (int i = PAGE - 12; i < wantX.length; i++) {
                wantX[i] = CANARY[(i - (PAGE - 12)) % CANARY.length];
            }
            assertThat("page 4, then the write-only canary page 5 (not page 0, which X+4096 maps)", got.get(0),
                    equalTo(wantX));
            byte[] wantY = new byte[6000 - 12];
            System.arraycopy(readable(0), 12, wantY, 0, PAGE - 12); // then zeros: hole page 1
            assertThat("page 0, then hole page 1 (not page 2)", got.get(1), equalTo(wantY));
            assertThat("hole page 1 was read: one more allocated page in region 1",
                    GuestMemoryFiles.allocatedPages(g.mem.regions().get(1)), equalTo(TOUCHED_IN_REGION_1 + 1L));
        }
    }
}
