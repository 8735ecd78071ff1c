package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import io.jvhost.frontend.IotlbLog.Event;
import io.jvhost.frontend.IotlbLog.MissOutcome;
import io.jvhost.frontend.IotlbLog.Type;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.testing.NetVhostTestpmd;
import io.jvhost.vhost.VhostDevice;

/**
 * The IOTLB path against DPDK's {@code net_vhost} (testpmd, {@code iommu-support=1}): lazy
 * mapping, invalidation of buffers and rings, and permissions enforced by the backend. The
 * permission tests run for both ring formats and against jvhost's backend ({@link LoopbackBackend})
 * too; the others are about split rings (packed rings lose frames on a transmit miss in DPDK
 * 22.11: {@link PackedIommuTest}).
 */
class IommuTest {
    static final long PAGE = GuestMemory.PAGE_SIZE;

    @TempDir
    static Path dir;
    static NetVhostTestpmd testpmd;
    static LoopbackBackend jvhost;

    /** The backend the permission tests run against. */
    enum Backend {
        TESTPMD,
        JVHOST
    }

    @BeforeAll
    static void startBackends() throws Exception {
        testpmd = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().queues(2).iommu(true));
        jvhost = LoopbackBackend.start(dir.resolve("jvhost.sock"),
                b -> b.iommu(true).enableFeatures(VirtioFeature.RING_PACKED.mask()).maxQueuePairs(2));
        // jvhost's server busy-polls a core: it runs only in the tests that use it, not beside testpmd's
        jvhost.stopServing();
    }

    @AfterEach
    void stopServingJvhost() {
        jvhost.stopServing();
    }

    @AfterAll
    static void stopBackends() {
        if (jvhost != null) {
            jvhost.close();
        }
        if (testpmd != null) {
            testpmd.close();
        }
    }

    static VirtioNetFrontend open(IommuMode mode) throws VhostUserException {
        return VirtioNetFrontend.builder(testpmd.socket()).queuePairs(2).iommu(mode).open();
    }

    /** Opens two queue pairs of {@code ring} format, with the IOMMU in a mode that loses nothing. */
    static VirtioNetFrontend open(Backend backend, RingFormat ring) throws Exception {
        VirtioNetFrontend dev;
        if (backend == Backend.TESTPMD) {
            dev = ring.apply(VirtioNetFrontend.builder(testpmd.socket())).queuePairs(2).iommu(ring.lossFreeIommu()).open();
        } else {
            jvhost.serve();
            dev = jvhost.open(ring.apply(VirtioNetFrontend.builder(jvhost.socket())).queuePairs(2).iommu(ring.lossFreeIommu()));
            VhostDevice d = jvhost.port().currentDevice();
            assertThat("packed negotiated (jvhost)", VirtioFeature.RING_PACKED.isIn(d.features()), is(ring == RingFormat.PACKED));
            assertThat(d.iommu(), is(true));
        }
        assertThat("packed negotiated", VirtioFeature.RING_PACKED.isIn(dev.features()), is(ring == RingFormat.PACKED));
        return dev;
    }

    static boolean backendAlive(Backend backend) {
        return backend == Backend.TESTPMD ? testpmd.isAlive() : jvhost.port().currentDevice().isAlive();
    }

    /** Sends {@code n} frames on queue q and asserts they all come back byte-exact. */
    static void echo(VirtioNetFrontend dev, int q, int n) {
        Traffic.Result r = Traffic.exchange(dev, q, n, Traffic.SIZES, Duration.ofSeconds(20));
        if (r.sent() != n || r.received().size() != n) {
            diagnose(dev);
        }
        assertThat("sent on queue " + q, r.sent(), is(n));
        assertThat("received on queue " + q, r.received(), hasSize(n));
        for (int i = 0; i < n; i++) {
            assertThat(r.received().get(i), is(Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length])));
        }
    }

    static void diagnose(VirtioNetFrontend dev) {
        try {
            System.out.println("=== IOTLB log");
            dev.iommu().log().events().forEach(System.out::println);
            System.out.println("=== testpmd stats " + testpmd.portStats());
            String out = testpmd.output();
            System.out.println("=== testpmd output tail\n" + out.substring(Math.max(0, out.length() - 6000)));
        } catch (Exception e) {
            System.out.println("diagnosis failed: " + e);
        }
    }

    static boolean inPage(long iova, long page) {
        return iova >= page && iova < page + PAGE;
    }

    /** Waits up to 5 s for an event logged since {@code fromSeq} that matches {@code what}. */
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

    /**
     * INVALIDATEs the pages of the three rings of vring {@code l} (split: descriptors, avail, used;
     * packed: descriptors, driver and device event areas).
     *
     * @return the log position before the INVALIDATEs
     */
    static long invalidateRings(VirtualIommu iommu, VringLayout l) throws VhostUserException {
        long mark = iommu.log().nextSeq();
        iommu.invalidate(l.descAddr(), PAGE);
        iommu.invalidate(l.availAddr(), PAGE);
        iommu.invalidate(l.usedAddr(), PAGE);
        return mark;
    }

    /** Asserts that since {@code mark} the backend missed on each of vring v's {@code rings} and was answered. */
    static void assertRingsRetranslated(VirtualIommu iommu, long mark, int v, long... rings) {
        List<Event> after = iommu.log().since(mark);
        for (long ring : rings) {
            assertThat("vring " + v + " ring 0x" + Long.toHexString(ring) + " re-translated through a MISS: " + after,
                    after.stream().anyMatch(e -> e.type() == Type.MISS && inPage(e.iova(), ring)
                            && e.outcome() == MissOutcome.ANSWERED), is(true));
        }
    }

    static boolean inRings(VringLayout l, long iova) {
        return iova >= l.descAddr() && iova < l.descAddr() + 16L * l.size()
                || iova >= l.availAddr() && iova < l.availAddr() + 6 + 2L * l.size()
                || iova >= l.usedAddr() && iova < l.usedAddr() + 6 + 8L * l.size();
    }

    static boolean inVring(VringLayout l, long iova) {
        return inRings(l, iova) || iova >= l.bufferAddr() && iova < l.bufferAddr() + l.bufferBytes();
    }

    /**
     * Lazy mapping, checked against a model of what the backend must touch. With fewer frames than
     * ring slots per queue, the used rings still hold every buffer the backend consumed, in order,
     * so the pages it had to translate are known exactly: the three ring pages of every vring,
     * for each transmitted frame the pages of {@code header + frame} from its slot's start (DPDK
     * maps a transmit descriptor for its length), and for each used receive buffer the pages of
     * the whole buffer or chain (DPDK maps receive descriptors whole). LAZY: the pages that
     * missed are exactly those. QEMU: the same, except pre-sent used-ring pages may not miss.
     *
     * <p>The MISS count itself can exceed the page count, and that is not predictable: DPDK keys
     * pending misses by (address, access), and its control path translates rings for RW while
     * its data path re-translates them for RO, so one ring page may miss twice depending on timing.
     * Likewise the backend's per-vring {@code iotlb_misses} counter counts every failed lookup,
     * including each poll that finds the miss still pending, so it can only be bounded: at least
     * one counted miss per MISS message attributed to that vring.
     */
    @ParameterizedTest
    @EnumSource(names = {"LAZY", "QEMU"})
    void lazyMappingEveryMissAnsweredNothingLost(IommuMode mode) throws Exception {
        int frames = 40;
        try (VirtioNetFrontend dev = open(mode)) {
            echo(dev, 0, frames);
            echo(dev, 1, frames);
            Map<String, Long> xstats = testpmd.xstats();
            List<Event> log = dev.iommu().log().events();

            // nothing pre-sent except, in QEMU mode, one UPDATE per used ring
            List<Event> present = log.stream().filter(e -> e.type() == Type.UPDATE && e.cause() != IotlbLog.Cause.MISS).toList();
            Set<Long> presentPages = new TreeSet<>();
            if (mode == IommuMode.LAZY) {
                assertThat(present, empty());
            } else {
                assertThat(present, hasSize(4));
                for (int v = 0; v < 4; v++) {
                    long used = dev.layout(v).usedAddr();
                    assertThat(present.stream().anyMatch(e -> e.iova() == used && e.cause() == IotlbLog.Cause.PRESEND_USED_RING),
                            is(true));
                    presentPages.add(used);
                }
            }
            // every MISS answered by an acked UPDATE covering it
            List<Event> misses = log.stream().filter(e -> e.type() == Type.MISS).toList();
            assertThat(misses.stream().map(Event::outcome).toList(), everyItem(is(MissOutcome.ANSWERED)));
            List<Event> answers = log.stream().filter(e -> e.type() == Type.UPDATE && e.cause() == IotlbLog.Cause.MISS).toList();
            assertThat(answers.size(), is(misses.size()));
            for (Event m : misses) {
                assertThat("answer to " + m, log.stream().anyMatch(u -> u.type() == Type.UPDATE && u.seq() > m.seq()
                        && u.iova() <= m.iova() && m.iova() < u.iova() + u.size() && u.ack() == 0), is(true));
            }

            // the model: pages the backend had to translate
            Set<Long> predicted = new TreeSet<>();
            for (int v = 0; v < 4; v++) {
                VringLayout l = dev.layout(v);
                predicted.add(l.descAddr());
                predicted.add(l.availAddr());
                predicted.add(l.usedAddr());
            }
            for (int q = 0; q < 2; q++) {
                for (int i = 0; i < frames; i++) {
                    int id = dev.usedElement(2 * q + 1, i)[0];
                    long start = dev.txSlotAddr(q, id);
                    int len = VirtioNetFrontend.NET_HDR_SIZE + Traffic.SIZES[i % Traffic.SIZES.length];
                    for (long p = start; p < start + len; p += PAGE) {
                        predicted.add(p & -PAGE);
                    }
                }
                int rxUsed = dev.usedConsumed(2 * q);
                for (int i = 0; i < rxUsed; i++) {
                    int head = dev.usedElement(2 * q, i)[0];
                    for (long a : dev.rxBufferAddrs(q, head)) {
                        for (long p = a; p < a + dev.rxDescLen(q); p += PAGE) {
                            predicted.add(p & -PAGE);
                        }
                    }
                }
            }
            Set<Long> missed = misses.stream().map(e -> e.iova() & -PAGE).collect(Collectors.toCollection(TreeSet::new));
            Set<Long> missing = new TreeSet<>(predicted);
            missing.removeAll(missed);
            missing.removeAll(presentPages);
            Set<Long> unexpected = new TreeSet<>(missed);
            unexpected.removeAll(predicted);
            assertThat("pages the model predicts that never missed", hex(missing), empty());
            assertThat("pages that missed but the model did not predict", hex(unexpected), empty());
            if (mode == IommuMode.LAZY) {
                assertThat(hex(missed), is(hex(predicted)));
            }

            // the backend's counters: at least one counted miss per MISS message of that vring
            for (int v = 0; v < 4; v++) {
                VringLayout l = dev.layout(v);
                long sentForVring = misses.stream().filter(e -> inVring(l, e.iova())).count();
                String name = ((v & 1) == 0 ? "tx" : "rx") + "_q" + (v / 2) + "_iotlb_misses";
                assertThat(name + " in " + xstats, xstats.containsKey(name), is(true));
                assertThat(name, xstats.get(name), greaterThanOrEqualTo(sentForVring));
            }
        }
    }

    private static List<String> hex(Set<Long> s) {
        return s.stream().map(Long::toHexString).toList();
    }

    @Test
    void invalidatedBufferPageMissesAgain() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.QEMU)) {
            echo(dev, 0, 20);
            VirtualIommu iommu = dev.iommu();
            // receive side: the page of the next receive buffer
            long rxPage = dev.nextRxBuffer(0).deviceAddr() & -PAGE;
            // transmit side: all transmit buffers of queue 0
            VringLayout tx = dev.layout(1);
            long mark = iommu.log().nextSeq();
            iommu.invalidate(rxPage, PAGE);
            iommu.invalidate(tx.bufferAddr(), tx.bufferBytes());
            echo(dev, 0, 20);
            List<Event> after = iommu.log().since(mark);
            assertThat("MISS for the invalidated receive page " + after,
                    after.stream().anyMatch(e -> e.type() == Type.MISS && inPage(e.iova(), rxPage)), is(true));
            assertThat("MISS for an invalidated transmit buffer " + after, after.stream().anyMatch(e -> e.type() == Type.MISS
                    && e.iova() >= tx.bufferAddr() && e.iova() < tx.bufferAddr() + tx.bufferBytes()), is(true));
            assertThat(after.stream().filter(e -> e.type() == Type.MISS).map(Event::outcome).toList(),
                    everyItem(is(MissOutcome.ANSWERED)));
        }
    }

    /**
     * DPDK 22.11 drops a vring's translation when an INVALIDATE overlaps any of its rings; the
     * vring is then "not ready", net_vhost stops polling that queue (queue state event), so the
     * data path cannot miss on it. The next UPDATE that covers one of the rings makes the backend
     * re-translate the rings on its control path: it misses the others, the frontend answers, and
     * the queue runs again with nothing lost.
     */
    @Test
    void invalidatedRingsAreRetranslatedAndKeepWorking() throws Exception {
        try (VirtioNetFrontend dev = open(IommuMode.QEMU)) {
            echo(dev, 0, 10);
            VirtualIommu iommu = dev.iommu();
            for (int v = 0; v < 2; v++) {
                VringLayout l = dev.layout(v);
                long mark = invalidateRings(iommu, l);
                // the guest "maps the descriptor table again": one UPDATE, the rest comes as MISSes
                iommu.update(l.descAddr(), PAGE);
                echo(dev, 0, 10);
                assertRingsRetranslated(iommu, mark, v, l.availAddr(), l.usedAddr());
            }
            echo(dev, 1, 10);
        }
    }

    /** The page {@link #refuseNextReceivePage} took from the backend (IOVA) and its guest address. */
    record Refused(long page, long gpa) {
    }

    /**
     * Takes the page of queue 0's next receive buffer from the backend (unmaps it, or re-maps it
     * with {@code access}: the unmap sends the INVALIDATE), poisons its bytes and sends {@code f} on
     * queue 0. Asserts: no frame arrives; the backend's MISS for the page is refused (NOT_MAPPED,
     * or PERMISSION_DENIED for a write); no UPDATE covers the page; the page keeps its poison; the
     * other queue pair still carries traffic and the backend is alive.
     *
     * @param access the page's new permission, or null to leave it unmapped
     */
    static Refused refuseNextReceivePage(VirtioNetFrontend dev, Backend backend, Access access, byte poison,
            byte[] f) throws VhostUserException {
        VirtualIommu iommu = dev.iommu();
        VirtioNetFrontend.RxBuffer next = dev.nextRxBuffer(0);
        long page = next.deviceAddr() & -PAGE;
        long gpa = next.gpa() & -PAGE;
        iommu.unmap(page, PAGE);
        if (access != null) {
            iommu.map(page, gpa, PAGE, access);
        }
        dev.memory().fill(gpa, (int) PAGE, poison);
        long mark = iommu.log().nextSeq();

        assertThat(dev.send(0, f, 0, f.length), is(true));
        assertThat("no frame can arrive in the refused buffer", Traffic.drain(dev, 0, Duration.ofMillis(1500)), empty());
        List<Event> after = iommu.log().since(mark);
        if (access == null) {
            assertThat("MISS not answered: " + after, after.stream().anyMatch(e -> e.type() == Type.MISS
                    && inPage(e.iova(), page) && e.outcome() == MissOutcome.NOT_MAPPED), is(true));
        } else {
            assertThat("backend asked write access to the read-only page: " + after, after.stream()
                    .anyMatch(e -> e.type() == Type.MISS && inPage(e.iova(), page) && (e.perm() & 2) != 0
                            && e.outcome() == MissOutcome.PERMISSION_DENIED), is(true));
        }
        assertThat("no UPDATE for the page: " + after,
                after.stream().noneMatch(e -> e.type() == Type.UPDATE && inPage(e.iova(), page)), is(true));
        assertPage(dev, gpa, poison);

        // the backend still serves the other queue pair
        echo(dev, 1, 10);
        assertThat(backendAlive(backend), is(true));
        return new Refused(page, gpa);
    }

    /**
     * A receive buffer page re-mapped read-only: the backend asks for write access, is refused (no
     * UPDATE), never writes the page; the other queue pair keeps working; once the page is
     * writable again and pre-sent, the stuck queue resumes. The frame sent meanwhile is the
     * backend's business: testpmd drops it after its transmit retries (so a new frame must come
     * through), jvhost holds it (so that very frame arrives).
     */
    @ParameterizedTest(name = "{0} rings, {1}")
    @CsvSource({"SPLIT,TESTPMD", "PACKED,TESTPMD", "SPLIT,JVHOST", "PACKED,JVHOST"})
    void readOnlyReceiveBufferIsNeverWritten(RingFormat ring, Backend backend) throws Exception {
        try (VirtioNetFrontend dev = open(backend, ring)) {
            echo(dev, 0, 5);
            VirtualIommu iommu = dev.iommu();
            byte[] f = Traffic.frame(0, 999, 100);
            Refused r = refuseNextReceivePage(dev, backend, Access.RO, (byte) 0x5a, f);

            // grant write access again and pre-send it
            iommu.unmap(r.page(), PAGE);
            iommu.map(r.page(), r.gpa(), PAGE, Access.RW);
            iommu.update(r.page(), PAGE);
            if (backend == Backend.TESTPMD) {
                byte[] g = Traffic.frame(0, 1000, 100);
                assertThat(dev.send(0, g, 0, g.length), is(true));
                List<byte[]> back = Traffic.drain(dev, 0, Duration.ofMillis(500));
                assertThat("the queue resumes", back, hasSize(1));
                assertThat(back.get(0), is(g));
            } else {
                List<byte[]> back = Traffic.drain(dev, 0, Duration.ofMillis(1000));
                assertThat("the held frame arrives", back, hasSize(1));
                assertThat(back.get(0), is(f));
            }
        }
    }

    /** An unmapped receive buffer page: the MISS is not answered, the page is never touched. */
    @ParameterizedTest(name = "{0} rings, {1}")
    @CsvSource({"SPLIT,TESTPMD", "PACKED,TESTPMD", "SPLIT,JVHOST", "PACKED,JVHOST"})
    void unmappedReceiveBufferIsNeverTouched(RingFormat ring, Backend backend) throws Exception {
        try (VirtioNetFrontend dev = open(backend, ring)) {
            echo(dev, 0, 5);
            refuseNextReceivePage(dev, backend, null, (byte) 0xa5, Traffic.frame(0, 777, 1500));
        }
    }

    private static void assertPage(VirtioNetFrontend dev, long gpa, byte value) {
        byte[] now = new byte[(int) PAGE];
        dev.memory().read(gpa, now, 0, now.length);
        byte[] want = new byte[(int) PAGE];
        Arrays.fill(want, value);
        assertThat("page at GPA 0x" + Long.toHexString(gpa) + " untouched", now, is(want));
        assertThat(now, not(is(new byte[(int) PAGE])));
    }
}
