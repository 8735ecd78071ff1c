package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.sameInstance;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.jvhost.frontend.IotlbLog.Event;
import io.jvhost.frontend.IotlbLog.MissOutcome;
import io.jvhost.frontend.IotlbLog.Type;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.Access;
import io.jvhost.vhost.Translation;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/**
 * The Java frontend against jvhost's own backend in the same JVM: a {@link VhostUserPort} with
 * IOMMU support served by a {@link PortServer} in loopback mode (every frame dequeued from the
 * guest's transmit ring of queue pair q is enqueued to its receive ring of q). Besides traffic,
 * the backend's live device view lets the test watch the IOTLB from the other side:
 * {@link VhostDevice#iovaToVva} runs DPDK's own {@code vhost_iova_to_vva} on a vring's IOTLB cache.
 */
class JvhostBackendTest {
    static final long PAGE = GuestMemory.PAGE_SIZE;

    @TempDir
    static Path dir;
    static VhostUserPort port;
    static MbufPool pool;
    static PortServer server;

    @BeforeAll
    static void startBackend() {
        SharedEal.get();
        port = VhostUserPort.builder(dir.resolve("jvhost.sock")).iommu(true).maxQueuePairs(2).open();
        pool = MbufPool.create(8191);
        // packets wait up to 5 s for a receive buffer (an IOTLB miss, a read-only page) before drop
        server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0).holdNanos(5_000_000_000L);
    }

    @AfterAll
    static void stopBackend() {
        if (server != null) {
            server.close();
        }
        if (port != null) {
            port.close();
        }
        if (pool != null) {
            pool.close();
        }
    }

    static VirtioNetFrontend open(IommuMode mode, boolean mergeable) throws Exception {
        VhostDevice before = port.currentDevice();
        VirtioNetFrontend dev = VirtioNetFrontend.builder(port.socket()).queuePairs(2).iommu(mode)
                .mergeableRxBuffers(mergeable).open();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (port.currentDevice() == null || port.currentDevice() == before || !port.currentDevice().isAlive()) {
            if (System.nanoTime() > deadline) {
                dev.close();
                throw new AssertionError("jvhost saw no new device");
            }
            Thread.sleep(1);
        }
        return dev;
    }

    static void echo(VirtioNetFrontend dev, int q, int n) {
        Traffic.Result r = Traffic.exchange(dev, q, n, Traffic.SIZES, Duration.ofSeconds(20));
        assertThat("sent on queue " + q, r.sent(), is(n));
        assertThat("received on queue " + q, r.received(), hasSize(n));
        for (int i = 0; i < n; i++) {
            assertThat("frame " + i + " on queue " + q, r.received().get(i),
                    is(Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length])));
        }
    }

    static Event await(VirtualIommu iommu, long fromSeq, Predicate<Event> what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            for (Event e : iommu.log().since(fromSeq)) {
                if (what.test(e)) {
                    return e;
                }
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no such IOTLB event since #" + fromSeq + ": " + iommu.log().since(fromSeq));
    }

    @ParameterizedTest(name = "iommu={0} mergeable={1}")
    @CsvSource({"OFF,true", "OFF,false", "QEMU,true", "QEMU,false", "LAZY,true"})
    void framesOf60To9000BytesComeBackByteExactOnEveryQueue(IommuMode mode, boolean mergeable) throws Exception {
        int n = 2 * Traffic.SIZES.length;
        try (VirtioNetFrontend dev = open(mode, mergeable)) {
            VhostDevice d = port.currentDevice();
            assertThat(d.iommu(), is(mode.enabled()));
            assertThat(VhostUserProtocol.has(d.features(), VhostUserProtocol.VIRTIO_NET_F_MRG_RXBUF), is(mergeable));
            long[] rx0 = new long[2];
            long[] tx0 = new long[2];
            long[] drop0 = new long[2];
            for (int q = 0; q < 2; q++) {
                QueueCounters c = server.counters(0, q);
                rx0[q] = c.rxPackets();
                tx0[q] = c.txPackets();
                drop0[q] = c.dropped();
            }
            echo(dev, 0, n);
            echo(dev, 1, n);
            for (int q = 0; q < 2; q++) {
                QueueCounters c = server.counters(0, q);
                assertThat("jvhost received on queue " + q, c.rxPackets() - rx0[q], is((long) n));
                assertThat("jvhost sent on queue " + q, c.txPackets() - tx0[q], is((long) n));
                assertThat("jvhost dropped on queue " + q, c.dropped() - drop0[q], is(0L));
            }
            if (mode.enabled()) {
                List<Event> misses = dev.iommu().log().events().stream().filter(e -> e.type() == Type.MISS).toList();
                assertThat(misses.stream().map(Event::outcome).toList(), everyItem(is(MissOutcome.ANSWERED)));
                // the backend's own counters: at least one counted miss per MISS message of a vring
                for (int v = 0; v < 4; v++) {
                    VringLayout l = dev.layout(v);
                    long sent = misses.stream().filter(e -> IommuTest.inVring(l, e.iova())).count();
                    Map<String, Long> stats = d.stats(v);
                    assertThat("vring " + v + " " + stats, stats.get("iotlb_misses"), greaterThanOrEqualTo(sent));
                    assertThat("vring " + v + " " + stats, stats.get("iotlb_hits"), greaterThan(0L));
                }
            }
        }
    }

    /**
     * DPDK's own translation, driven from the backend side, against the frontend's virtual IOMMU:
     * a miss sends a MISS that the frontend answers, after which the same call hits and the
     * backend address reads the bytes the frontend wrote; the UPDATE went to every vring's cache;
     * an INVALIDATE makes it miss again; a read-only page asked for writing and an unmapped page
     * are refused (no UPDATE) and DPDK does not ask again while the miss is pending.
     */
    @Test
    void backendTranslationMissesAreAnsweredAndReadBackTheFrontendsBytes() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.LAZY, true)) {
            echo(dev, 0, 4);
            VhostDevice d = port.currentDevice();
            VirtualIommu iommu = dev.iommu();
            long gpa = dev.memory().allocate(2 * PAGE, PAGE);
            long iova = 0x7700_0000_0000L;
            iommu.map(iova, gpa, PAGE, VirtualIommu.Permission.RW);
            iommu.map(iova + PAGE, gpa + PAGE, PAGE, VirtualIommu.Permission.RO);
            byte[] pattern = new byte[(int) (2 * PAGE)];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i * 7 + 3);
            }
            dev.memory().write(gpa, pattern, 0, pattern.length);

            // miss -> MISS -> UPDATE -> hit, bytes read back
            long mark = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, iova + 100, 200, Access.READ).isMiss(), is(true));
            await(iommu, mark, e -> e.type() == Type.UPDATE && e.iova() == iova && e.ack() == 0);
            Translation t = d.iovaToVva(0, iova + 100, 200, Access.READ);
            assertThat(t.isMiss(), is(false));
            assertThat(t.length(), is(200L));
            byte[] back = new byte[200];
            d.read(t.address(), back, 0, back.length);
            assertThat(back, is(Arrays.copyOfRange(pattern, 100, 300)));
            // the UPDATE was inserted in every vring's cache: vring 3 hits without asking
            long mark2 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(3, iova + 8, 8, Access.READ_WRITE).isMiss(), is(false));
            assertThat(iommu.log().since(mark2), empty());

            // INVALIDATE: the next translation misses again and is answered again
            iommu.invalidate(iova, PAGE);
            long mark3 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, iova, 8, Access.READ).isMiss(), is(true));
            await(iommu, mark3, e -> e.type() == Type.UPDATE && e.iova() == iova);
            assertThat(d.iovaToVva(0, iova, 8, Access.READ).isMiss(), is(false));

            // read-only page asked for writing: refused, and asked only once while pending
            long ro = iova + PAGE;
            long mark4 = iommu.log().nextSeq();
            for (int i = 0; i < 5; i++) {
                assertThat(d.iovaToVva(0, ro, 8, Access.WRITE).isMiss(), is(true));
            }
            Event denied = await(iommu, mark4, e -> e.type() == Type.MISS && e.iova() == ro);
            assertThat(denied.outcome(), is(MissOutcome.PERMISSION_DENIED));
            Thread.sleep(50);
            assertThat(iommu.log().since(mark4).stream().filter(e -> e.type() == Type.MISS).count(), is(1L));
            assertThat(iommu.log().since(mark4).stream().filter(e -> e.type() == Type.UPDATE).count(), is(0L));
            // reading it is allowed
            long mark5 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, ro, 8, Access.READ).isMiss(), is(true));
            await(iommu, mark5, e -> e.type() == Type.UPDATE && e.iova() == ro && e.perm() == 1);
            Translation tr = d.iovaToVva(0, ro, 8, Access.READ);
            assertThat(tr.isMiss(), is(false));
            assertThat(d.iovaToVva(0, ro, 8, Access.WRITE).isMiss(), is(true));

            // unmapped: refused
            long nowhere = iova + 16 * PAGE;
            long mark6 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, nowhere, 8, Access.READ).isMiss(), is(true));
            Event nm = await(iommu, mark6, e -> e.type() == Type.MISS && e.iova() == nowhere);
            assertThat(nm.outcome(), is(MissOutcome.NOT_MAPPED));

            // traffic still flows
            echo(dev, 1, 10);
        }
    }

    /** Real kick/call descriptors with jvhost: DPDK's enqueue signals the call descriptor. */
    @Test
    void receiveWaitsOnTheCallDescriptor() throws Exception {
        VhostDevice before = port.currentDevice();
        try (VirtioNetFrontend dev = VirtioNetFrontend.builder(port.socket()).queuePairs(2).iommu(IommuMode.QEMU)
                .notifications(true).open()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (port.currentDevice() == before || !port.currentDevice().isAlive()) {
                assertThat("jvhost saw the device", System.nanoTime() < deadline, is(true));
                Thread.sleep(1);
            }
            byte[] buf = new byte[dev.maxFrameSize()];
            for (int q = 0; q < 2; q++) {
                for (int i = 0; i < 20; i++) {
                    byte[] f = Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length]);
                    assertThat(dev.send(q, f, 0, f.length), is(true));
                    assertThat(dev.awaitReceive(q, Duration.ofSeconds(5)), is(true));
                    int n = dev.receive(q, buf);
                    assertThat(Arrays.copyOf(buf, n), is(f));
                }
                assertThat(dev.callsSeen(2 * q), greaterThan(0L));
            }
        }
    }

    /**
     * A DPDK 22.11 detail the frontend must live with: {@code vhost_user_iotlb_cache_remove}
     * tests {@code iova + size < node->iova}, so an INVALIDATE of [a, a+n) also drops a cached
     * translation that starts exactly at a+n; the one after that survives.
     */
    @Test
    void anInvalidateAlsoDropsTheTranslationRightAfterIt() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.LAZY, true)) {
            VhostDevice d = port.currentDevice();
            VirtualIommu iommu = dev.iommu();
            long gpa = dev.memory().allocate(3 * PAGE, PAGE);
            long iova = 0x7800_0000_0000L;
            iommu.map(iova, gpa, 3 * PAGE, VirtualIommu.Permission.RW);
            for (int p = 0; p < 3; p++) {
                long a = iova + p * PAGE;
                long mark = iommu.log().nextSeq();
                if (d.iovaToVva(0, a, 8, Access.READ).isMiss()) {
                    await(iommu, mark, e -> e.type() == Type.UPDATE && e.iova() == a);
                }
                assertThat(d.iovaToVva(0, a, 8, Access.READ).isMiss(), is(false));
            }
            iommu.invalidate(iova, PAGE);
            long mark = iommu.log().nextSeq();
            assertThat("page 2 survives", d.iovaToVva(0, iova + 2 * PAGE, 8, Access.READ).isMiss(), is(false));
            assertThat("page 1 dropped too", d.iovaToVva(0, iova + PAGE, 8, Access.READ).isMiss(), is(true));
            await(iommu, mark, e -> e.type() == Type.MISS && e.iova() == iova + PAGE && e.outcome() == MissOutcome.ANSWERED);
            assertThat("page 0 dropped", d.iovaToVva(0, iova, 8, Access.READ).isMiss(), is(true));
        }
    }

    /**
     * jvhost's data path calls DPDK's enqueue/dequeue itself, and those re-translate a vring whose
     * translation an INVALIDATE dropped: the backend misses its rings again, the frontend
     * answers, and traffic goes on (compare testpmd's net_vhost, which stops polling the vring).
     */
    @Test
    void invalidatedRingsAreRetranslatedByTheDataPath() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.QEMU, true)) {
            echo(dev, 0, 10);
            VirtualIommu iommu = dev.iommu();
            for (int v = 0; v < 2; v++) {
                VringLayout l = dev.layout(v);
                long mark = iommu.log().nextSeq();
                iommu.invalidate(l.descAddr(), PAGE);
                iommu.invalidate(l.availAddr(), PAGE);
                iommu.invalidate(l.usedAddr(), PAGE);
                echo(dev, 0, 10);
                List<Event> after = iommu.log().since(mark);
                for (long ring : new long[] {l.descAddr(), l.availAddr(), l.usedAddr()}) {
                    assertThat("vring " + v + " ring 0x" + Long.toHexString(ring) + " missed again: " + after,
                            after.stream().anyMatch(e -> e.type() == Type.MISS && IommuTest.inPage(e.iova(), ring)
                                    && e.outcome() == MissOutcome.ANSWERED), is(true));
                }
            }
        }
    }

    /**
     * A read-only receive buffer is never written: jvhost holds the frame (the guest "has no
     * room"), the page keeps its bytes, the other queue pair works; once the page is writable
     * again and announced, the held frame arrives: nothing lost.
     */
    @Test
    void readOnlyReceiveBufferIsNeverWrittenAndTheHeldFrameArrivesLater() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.QEMU, true)) {
            echo(dev, 0, 5);
            VirtualIommu iommu = dev.iommu();
            VirtioNetFrontend.RxBuffer next = dev.nextRxBuffer(0);
            long page = next.deviceAddr() & -PAGE;
            long gpa = next.gpa() & -PAGE;
            iommu.unmap(page, PAGE);
            iommu.map(page, gpa, PAGE, VirtualIommu.Permission.RO);
            dev.memory().fill(gpa, (int) PAGE, (byte) 0x5a);
            long mark = iommu.log().nextSeq();
            byte[] f = Traffic.frame(0, 4242, 300);
            assertThat(dev.send(0, f, 0, f.length), is(true));
            assertThat(Traffic.drain(dev, 0, Duration.ofMillis(300)), empty());
            await(iommu, mark, e -> e.type() == Type.MISS && IommuTest.inPage(e.iova(), page)
                    && e.outcome() == MissOutcome.PERMISSION_DENIED);
            byte[] now = new byte[(int) PAGE];
            dev.memory().read(gpa, now, 0, now.length);
            byte[] want = new byte[(int) PAGE];
            Arrays.fill(want, (byte) 0x5a);
            assertThat(now, is(want));
            echo(dev, 1, 10);

            iommu.unmap(page, PAGE);
            iommu.map(page, gpa, PAGE, VirtualIommu.Permission.RW);
            iommu.update(page, PAGE);
            List<byte[]> got = Traffic.drain(dev, 0, Duration.ofMillis(500));
            assertThat(got, hasSize(1));
            assertThat(got.get(0), is(f));
            assertThat(got.get(0), not(sameInstance(f)));
        }
    }
}
