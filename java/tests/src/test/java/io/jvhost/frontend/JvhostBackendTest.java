package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.jvhost.frontend.IotlbLog.Event;
import io.jvhost.frontend.IotlbLog.MissOutcome;
import io.jvhost.frontend.IotlbLog.Type;
import io.jvhost.serve.PortServer;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.vhost.Translation;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/**
 * The Java frontend against jvhost's own backend in the same JVM: a {@link VhostUserPort} with
 * IOMMU support served by a {@link PortServer} in loopback mode (every frame dequeued from the
 * guest's transmit ring of queue pair q is enqueued to its receive ring of q). Besides traffic,
 * the backend's live device view lets the test watch the IOTLB from the other side:
 * {@link VhostDevice#iovaToVva} runs DPDK's own {@code vhost_iova_to_vva} on a vring's IOTLB cache.
 * The set-up is the frontend's {@link LoopbackBackend}; receive pages refused to jvhost (read-only,
 * unmapped) are tested in IommuTest, for both ring formats.
 */
class JvhostBackendTest {
    static final long PAGE = GuestMemory.PAGE_SIZE;

    @TempDir
    static Path dir;
    static LoopbackBackend backend;
    static VhostUserPort port;

    @BeforeAll
    static void startBackend() {
        backend = LoopbackBackend.start(dir.resolve("jvhost.sock"), b -> b.iommu(true).maxQueuePairs(2));
        port = backend.port();
    }

    @AfterAll
    static void stopBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    static VirtioNetFrontend open(IommuMode mode, boolean mergeable) throws Exception {
        return backend.open(VirtioNetFrontend.builder(port.socket()).queuePairs(2).iommu(mode)
                .mergeableRxBuffers(mergeable));
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

    @ParameterizedTest(name = "iommu={0} mergeable={1}")
    @CsvSource({"OFF,true", "OFF,false", "QEMU,true", "QEMU,false", "LAZY,true"})
    void framesOf60To9000BytesComeBackByteExactOnEveryQueue(IommuMode mode, boolean mergeable) throws Exception {
        int n = 2 * Traffic.SIZES.length;
        try (VirtioNetFrontend dev = open(mode, mergeable)) {
            VhostDevice d = port.currentDevice();
            assertThat(d.iommu(), is(mode.enabled()));
            assertThat(VirtioFeature.NET_MRG_RXBUF.isIn(d.features()), is(mergeable));
            LoopbackBackend.Counts[] before = backend.countsOf(2);
            echo(dev, 0, n);
            echo(dev, 1, n);
            for (int q = 0; q < 2; q++) {
                backend.assertCarried(q, before[q], n);
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
            iommu.map(iova, gpa, PAGE, Access.RW);
            iommu.map(iova + PAGE, gpa + PAGE, PAGE, Access.RO);
            byte[] pattern = new byte[(int) (2 * PAGE)];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i * 7 + 3);
            }
            dev.memory().write(gpa, pattern, 0, pattern.length);

            // miss -> MISS -> UPDATE -> hit, bytes read back
            long mark = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, iova + 100, 200, Access.RO).isMiss(), is(true));
            IommuTest.await(iommu, mark, e -> e.type() == Type.UPDATE && e.iova() == iova && e.ack() == 0);
            Translation t = d.iovaToVva(0, iova + 100, 200, Access.RO);
            assertThat(t.isMiss(), is(false));
            assertThat(t.length(), is(200L));
            byte[] back = new byte[200];
            d.read(t.address(), back, 0, back.length);
            assertThat(back, is(Arrays.copyOfRange(pattern, 100, 300)));
            // the UPDATE was inserted in every vring's cache: vring 3 hits without asking
            long mark2 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(3, iova + 8, 8, Access.RW).isMiss(), is(false));
            assertThat(iommu.log().since(mark2), empty());

            // INVALIDATE: the next translation misses again and is answered again
            iommu.invalidate(iova, PAGE);
            long mark3 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, iova, 8, Access.RO).isMiss(), is(true));
            IommuTest.await(iommu, mark3, e -> e.type() == Type.UPDATE && e.iova() == iova);
            assertThat(d.iovaToVva(0, iova, 8, Access.RO).isMiss(), is(false));

            // read-only page asked for writing: refused, and asked only once while pending
            long ro = iova + PAGE;
            long mark4 = iommu.log().nextSeq();
            for (int i = 0; i < 5; i++) {
                assertThat(d.iovaToVva(0, ro, 8, Access.WO).isMiss(), is(true));
            }
            Event denied = IommuTest.await(iommu, mark4, e -> e.type() == Type.MISS && e.iova() == ro);
            assertThat(denied.outcome(), is(MissOutcome.PERMISSION_DENIED));
            Thread.sleep(50);
            assertThat(iommu.log().since(mark4).stream().filter(e -> e.type() == Type.MISS).count(), is(1L));
            assertThat(iommu.log().since(mark4).stream().filter(e -> e.type() == Type.UPDATE).count(), is(0L));
            // reading it is allowed
            long mark5 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, ro, 8, Access.RO).isMiss(), is(true));
            IommuTest.await(iommu, mark5, e -> e.type() == Type.UPDATE && e.iova() == ro && e.perm() == 1);
            Translation tr = d.iovaToVva(0, ro, 8, Access.RO);
            assertThat(tr.isMiss(), is(false));
            assertThat(d.iovaToVva(0, ro, 8, Access.WO).isMiss(), is(true));

            // unmapped: refused
            long nowhere = iova + 16 * PAGE;
            long mark6 = iommu.log().nextSeq();
            assertThat(d.iovaToVva(0, nowhere, 8, Access.RO).isMiss(), is(true));
            Event nm = IommuTest.await(iommu, mark6, e -> e.type() == Type.MISS && e.iova() == nowhere);
            assertThat(nm.outcome(), is(MissOutcome.NOT_MAPPED));

            // traffic still flows
            echo(dev, 1, 10);
        }
    }

    /**
     * The Java IOTLB model (io.jvhost.iotlb, bit-exact with DPDK 22.11) is fed the same UPDATE and
     * INVALIDATE messages the frontend sends, and makes the same lookups the test makes through
     * the backend (DPDK's own {@code vhost_iova_to_vva}, on random vrings, addresses, lengths and
     * accesses over mapped RW, mapped RO and unmapped pages, with INVALIDATEs, re-mappings and
     * explicit UPDATEs in between). It predicts every hit (with DPDK's exact backend address),
     * every miss, every MISS message the frontend receives (in order; none where DPDK keeps one
     * pending) and each vring's iotlb_hits/iotlb_misses counters exactly.
     *
     * <p>Exact, because nothing else translates meanwhile: the model starts once every vring's rings
     * are translated (before that, DPDK's data path re-translates a vring on every poll and counts
     * those lookups too); no frame is sent, so jvhost's data path only polls empty rings; and the
     * probed IOVAs are far from the rings. Messages from before the
     * model started (ring translation at setup) are not fed to it: they reached fewer vrings (a
     * vring exists in DPDK only from its first message on) and touch no probed address.
     */
    @Test
    void javaIotlbModelPredictsEveryMissAndTheBackendsCounters() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.LAZY, true)) {
            VhostDevice d = port.currentDevice();
            VirtualIommu iommu = dev.iommu();
            int vrings = d.vringCount();
            assertThat(vrings, is(4));
            io.jvhost.iotlb.IotlbModelMirror mirror = io.jvhost.iotlb.IotlbModelMirror.of(d);
            io.jvhost.iotlb.IotlbDevice model = mirror.model();

            // 12 probe pages: 0-3 RW, 4-7 RO, 8-9 unmapped, 10-11 RW
            int pages = 12;
            long gpa = dev.memory().allocate(pages * PAGE, PAGE);
            long base = 0x7900_0000_0000L;
            iommu.map(base, gpa, 4 * PAGE, Access.RW);
            iommu.map(base + 4 * PAGE, gpa + 4 * PAGE, 4 * PAGE, Access.RO);
            iommu.map(base + 10 * PAGE, gpa + 10 * PAGE, 2 * PAGE, Access.RW);
            for (int v = 0; v < vrings; v++) {
                d.resetStats(v);
            }
            long start = iommu.log().nextSeq();
            long[] fed = {start};
            List<io.jvhost.iotlb.IotlbMiss> predictedMisses = new java.util.ArrayList<>();
            java.util.Random rnd = new java.util.Random(42);
            Access[] accesses = {Access.RO, Access.WO, Access.RW};
            int hits = 0;
            int missCount = 0;
            for (int op = 0; op < 300; op++) {
                int kind = rnd.nextInt(20);
                if (kind < 15) {
                    int v = rnd.nextInt(vrings);
                    long iova = base + rnd.nextInt(pages) * PAGE + rnd.nextInt((int) PAGE);
                    long len = 1 + rnd.nextInt((int) (2 * PAGE));
                    if (iova + len > base + pages * PAGE) {
                        len = base + pages * PAGE - iova;
                    }
                    Access a = accesses[rnd.nextInt(3)];
                    Translation real = d.iovaToVva(v, iova, len, a);
                    long[] sz = {len};
                    long vva = model.iovaToVva(v, iova, sz, a);
                    String what = String.format("op %d: vring %d iova 0x%x len %d %s", op, v, iova, len, a);
                    assertThat(what + " miss?", real.isMiss(), is(vva == 0));
                    if (vva != 0) {
                        hits++;
                        assertThat(what + " backend address", real.address(), is(vva));
                        assertThat(what + " length", real.length(), is(len));
                    } else {
                        missCount++;
                    }
                    io.jvhost.iotlb.IotlbMiss m = model.queue(0).pollMiss();
                    if (m != null) {
                        predictedMisses.add(m);
                        // the frontend receives it and answers (or not): feed its answer to the model
                        Event got = IommuTest.await(iommu, fed[0], e -> e.type() == Type.MISS);
                        assertThat(what + ": MISS received", got.iova(), is(m.iova()));
                        assertThat(what + ": MISS perm", got.perm(), is(m.perm().wire()));
                        if (got.outcome() == MissOutcome.ANSWERED) {
                            IommuTest.await(iommu, got.seq(), e -> e.type() == Type.UPDATE && e.cause() == IotlbLog.Cause.MISS);
                        }
                        feed(mirror, iommu, fed);
                    }
                    assertThat(what + ": no MISS the model did not predict",
                            iommu.log().since(fed[0]).stream().filter(e -> e.type() == Type.MISS).toList(), empty());
                } else if (kind < 17) {
                    int p = rnd.nextInt(pages);
                    int n = 1 + rnd.nextInt(3);
                    iommu.invalidate(base + p * PAGE, n * PAGE);
                    feed(mirror, iommu, fed);
                } else if (kind < 19) {
                    int p = rnd.nextInt(pages);
                    iommu.update(base + p * PAGE, PAGE);
                    feed(mirror, iommu, fed);
                } else {
                    // re-map one mapped page with the other permission (unmap sends an INVALIDATE)
                    int p = rnd.nextInt(pages);
                    java.util.Optional<VirtualIommu.Mapping> mp = iommu.mappingAt(base + p * PAGE);
                    if (mp.isPresent()) {
                        Access now = mp.get().perm();
                        iommu.unmap(base + p * PAGE, PAGE);
                        iommu.map(base + p * PAGE, gpa + p * PAGE, PAGE,
                                now == Access.RW ? Access.RO : Access.RW);
                        feed(mirror, iommu, fed);
                    }
                }
            }
            Thread.sleep(20);
            List<Event> frontendMisses = iommu.log().since(start).stream().filter(e -> e.type() == Type.MISS).toList();
            assertThat(frontendMisses.size(), is(predictedMisses.size()));
            assertThat("the script exercised hits", hits, greaterThan(20));
            assertThat("and misses", missCount, greaterThan(20));
            for (int v = 0; v < vrings; v++) {
                Map<String, Long> st = d.stats(v);
                assertThat("vring " + v + " iotlb_hits", st.get("iotlb_hits"), is(model.queue(v) instanceof
                        io.jvhost.iotlb.IotlbCache c ? c.hits() : -1L));
                assertThat("vring " + v + " iotlb_misses", st.get("iotlb_misses"),
                        is(((io.jvhost.iotlb.IotlbCache) model.queue(v)).misses()));
            }
        }
    }

    /** Feeds the UPDATE and INVALIDATE messages logged since {@code fed[0]} to the model. */
    private static void feed(io.jvhost.iotlb.IotlbModelMirror mirror, VirtualIommu iommu, long[] fed) {
        for (Event e : iommu.log().since(fed[0])) {
            if (e.type() == Type.UPDATE) {
                assertThat("the backend accepted " + e, e.ack(), is(0L));
            }
        }
        fed[0] = iommu.log().replay(fed[0], m -> assertThat("the model accepts " + m, mirror.apply(m), is(true)));
    }

    /** Real kick/call descriptors with jvhost: DPDK's enqueue signals the call descriptor. */
    @Test
    void receiveWaitsOnTheCallDescriptor() throws Exception {
        try (VirtioNetFrontend dev = backend.open(VirtioNetFrontend.builder(port.socket()).queuePairs(2)
                .iommu(IommuMode.QEMU).notifications(true))) {
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
            iommu.map(iova, gpa, 3 * PAGE, Access.RW);
            for (int p = 0; p < 3; p++) {
                long a = iova + p * PAGE;
                long mark = iommu.log().nextSeq();
                if (d.iovaToVva(0, a, 8, Access.RO).isMiss()) {
                    IommuTest.await(iommu, mark, e -> e.type() == Type.UPDATE && e.iova() == a);
                }
                assertThat(d.iovaToVva(0, a, 8, Access.RO).isMiss(), is(false));
            }
            iommu.invalidate(iova, PAGE);
            long mark = iommu.log().nextSeq();
            assertThat("page 2 survives", d.iovaToVva(0, iova + 2 * PAGE, 8, Access.RO).isMiss(), is(false));
            assertThat("page 1 dropped too", d.iovaToVva(0, iova + PAGE, 8, Access.RO).isMiss(), is(true));
            IommuTest.await(iommu, mark, e -> e.type() == Type.MISS && e.iova() == iova + PAGE && e.outcome() == MissOutcome.ANSWERED);
            assertThat("page 0 dropped", d.iovaToVva(0, iova, 8, Access.RO).isMiss(), is(true));
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
                long mark = IommuTest.invalidateRings(iommu, l);
                echo(dev, 0, 10);
                IommuTest.assertRingsRetranslated(iommu, mark, v, l.descAddr(), l.availAddr(), l.usedAddr());
            }
        }
    }
}
