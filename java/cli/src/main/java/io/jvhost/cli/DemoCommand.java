package io.jvhost.cli;

import io.jvhost.eal.Eal;
import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.IotlbLog;
import io.jvhost.frontend.VirtioNetFrontend;
import io.jvhost.frontend.VirtualIommu;
import io.jvhost.iotlb.IotlbCache;
import io.jvhost.iotlb.IotlbDevice;
import io.jvhost.iotlb.IotlbModelMirror;
import io.jvhost.iotlb.IotlbMiss;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.protocol.Access;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.vhost.Translation;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jvhost demo}: the whole system on a bare machine. A jvhost backend (DPDK's librte_vhost,
 * loopback) and jvhost's pure-Java vhost-user frontend with a virtual IOMMU run in this process;
 * memory is mapped lazily (every first touch is an IOTLB MISS the frontend answers); frames of
 * mixed sizes go to the backend and back, checked byte for byte; then the Java IOTLB model, fed
 * the frontend's UPDATE and INVALIDATE messages, predicts DPDK's own translations on random probes.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run a jvhost backend and the pure-Java frontend with a virtual IOMMU in one process and"
            + " check every frame and translation.",
            "Frames go both ways byte-exact through lazily mapped memory, then the Java IOTLB model is checked"
                + " against DPDK's own translations. Exits non-zero if anything was lost or disagreed."})
final class DemoCommand implements Callable<Integer> {
    private static final int[] SIZES = {60, 64, 128, 256, 512, 1000, 1500, 1514, 2048, 3000, 4096, 6000, 9000};
    private static final long PAGE = 4096;

    @Option(names = "--packets", paramLabel = "N", description = "frames to send (default: ${DEFAULT-VALUE})")
    int packets = 5000;

    @Option(names = "--queues", paramLabel = "N", description = "queue pairs (default: ${DEFAULT-VALUE})")
    int queues = 2;

    @Option(names = "--no-iommu", description = "run without the virtual IOMMU")
    boolean noIommu;

    @Option(names = "--no-mergeable", description = "receive buffers without VIRTIO_NET_F_MRG_RXBUF")
    boolean noMergeable;

    @Option(names = "--invalidate-every", paramLabel = "N", description = "with the IOMMU: invalidate every mapping"
            + " (rings included) after each N frames back, 0 = never (default: ${DEFAULT-VALUE})")
    int invalidateEvery = 1000;

    @Option(names = "--probes", paramLabel = "N", description = "random translations checked against the model (default: ${DEFAULT-VALUE})")
    int probes = 300;

    @Option(names = "--seed", paramLabel = "N", description = "seed of the probes (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Mixin
    EalOptions eal;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        if (packets < 1 || queues < 1 || queues > 8 || probes < 0 || invalidateEvery < 0) {
            throw new IllegalArgumentException("--packets must be positive, --queues 1..8, --probes and"
                    + " --invalidate-every not negative");
        }
        DpdkLog.setLevel(DpdkLogLevel.ERROR);
        boolean iommu = !noIommu;
        Path dir = Files.createTempDirectory("jvhost-demo");
        Path sock = dir.resolve("vhost.sock");
        boolean ok;
        try (Eal running = Eal.start(eal.toConfig())) {
            MbufPool pool = MbufPool.create(null, 16384, 256, MbufPool.DEFAULT_DATA_ROOM);
            VhostUserPort port = VhostUserPort.builder(sock).iommu(iommu).maxQueuePairs(queues).open();
            // packets wait up to 5 s for a receive buffer the frontend has not mapped yet
            PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0).holdNanos(5_000_000_000L);
            out.printf("jvhost demo: %s, backend (librte_vhost) and pure-Java frontend%s, %d queue pair(s)%n",
                    running.dpdkVersion(), iommu ? " with a virtual IOMMU, memory mapped lazily" : "", queues);
            try (VirtioNetFrontend front = VirtioNetFrontend.builder(sock).queuePairs(queues)
                    .iommu(iommu ? IommuMode.LAZY : IommuMode.OFF).mergeableRxBuffers(!noMergeable).open()) {
                VhostDevice device = awaitDevice(port);
                settle(front, device);
                TrafficResult t = traffic(front);
                // the last INVALIDATEs left rings untranslated: the data path translates them again
                settle(front, device);
                ok = report(t, front, device, server);
                if (iommu && probes > 0) {
                    ok &= modelAgrees(front, device);
                }
            } finally {
                server.close();
                port.close();
            }
            pool.close();
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
        out.println(ok ? "RESULT: everything verified" : "RESULT: FAILED (see above)");
        out.flush();
        return ok ? 0 : 1;
    }

    private static VhostDevice awaitDevice(VhostUserPort port) throws InterruptedException {
        VhostDevice d = port.awaitDevice(java.time.Duration.ofSeconds(20));
        return d;
    }

    /** Waits until the backend has translated every vring and the frontend answered everything. */
    private static void settle(VirtioNetFrontend front, VhostDevice d) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        for (int v = 0; v < d.vringCount(); v++) {
            while (d.vring(v).descAddress() == 0 || d.vring(v).availAddress() == 0 || d.vring(v).usedAddress() == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the backend did not translate vring " + v + " in time");
                }
                Thread.sleep(1);
            }
        }
        if (front.iommu() != null) {
            for (long seen = -1; seen != front.iommu().log().nextSeq();) {
                seen = front.iommu().log().nextSeq();
                Thread.sleep(50);
            }
        }
    }

    private record TrafficResult(long sent, long received, long bytes, long corrupt, double seconds) {
    }

    static byte[] frame(int q, int seq, int size) {
        byte[] f = new byte[size];
        f[0] = 0x02;
        f[6] = 0x02;
        f[12] = 0x08;
        for (int i = 14; i < size; i++) {
            f[i] = (byte) (seq * 13 + q * 7 + i);
        }
        f[14] = (byte) (seq >>> 24);
        f[15] = (byte) (seq >>> 16);
        f[16] = (byte) (seq >>> 8);
        f[17] = (byte) seq;
        return f;
    }

    private TrafficResult traffic(VirtioNetFrontend front) throws Exception {
        int[] sent = new int[queues];
        int[] received = new int[queues];
        long corrupt = 0;
        long bytes = 0;
        byte[] buf = new byte[front.maxFrameSize() + 64];
        int perQueue = (packets + queues - 1) / queues;
        int total = perQueue * queues;
        long start = System.nanoTime();
        long deadline = start + 120_000_000_000L;
        long lastBar = 0;
        int done = 0;
        while (done < total && System.nanoTime() < deadline) {
            boolean progress = false;
            for (int q = 0; q < queues; q++) {
                if (sent[q] < perQueue && sent[q] - received[q] < 64) {
                    byte[] f = frame(q, sent[q], SIZES[sent[q] % SIZES.length]);
                    if (front.send(q, f, 0, f.length)) {
                        sent[q]++;
                        progress = true;
                    }
                }
                int n;
                while ((n = front.receive(q, buf)) >= 0) {
                    byte[] want = frame(q, received[q], SIZES[received[q] % SIZES.length]);
                    if (n != want.length || !Arrays.equals(buf, 0, n, want, 0, n)) {
                        corrupt++;
                    }
                    bytes += n;
                    received[q]++;
                    done++;
                    progress = true;
                    // only while every queue still has frames to send: each vring is then used,
                    // and so translated again, after the last INVALIDATE (the summary reads them)
                    if (invalidateEvery > 0 && front.iommu() != null && done % invalidateEvery == 0
                            && Arrays.stream(sent).allMatch(x -> x < perQueue)) {
                        // as a guest unmapping its buffers: the backend must miss and re-translate
                        for (VirtualIommu.Mapping m : front.iommu().mappings()) {
                            front.iommu().invalidate(m.iova(), m.size());
                        }
                    }
                }
            }
            if (System.nanoTime() - lastBar > 100_000_000L || done == total) {
                lastBar = System.nanoTime();
                bar(done, total);
            }
            if (!progress) {
                LockSupport.parkNanos(20_000);
            }
        }
        bar(done, total);
        out.println();
        long s = Arrays.stream(sent).sum();
        return new TrafficResult(s, done, bytes, corrupt, (System.nanoTime() - start) / 1e9);
    }

    private void bar(int done, int total) {
        int width = 40;
        int filled = (int) ((long) done * width / Math.max(total, 1));
        out.printf("\r  [%s%s] %d/%d frames back", "#".repeat(filled), " ".repeat(width - filled), done, total);
        out.flush();
    }

    private boolean report(TrafficResult t, VirtioNetFrontend front, VhostDevice d, PortServer server) {
        long backendRx = 0;
        long backendTx = 0;
        long dropped = 0;
        for (int q = 0; q < server.queuePairs(); q++) {
            QueueCounters c = server.counters(0, q);
            backendRx += c.rxPackets();
            backendTx += c.txPackets();
            dropped += c.dropped();
        }
        boolean ok = t.received == t.sent && t.corrupt == 0 && backendRx == t.sent && backendTx == t.sent && dropped == 0;
        out.printf(Locale.ROOT, "frontend -> backend: %d frames, %d bytes (backend dequeued %d)%n", t.sent, t.bytes, backendRx);
        out.printf(Locale.ROOT, "backend -> frontend: %d frames back, %d bytes, %d corrupt, %d dropped (backend enqueued %d)%n",
                t.received, t.bytes, t.corrupt, dropped, backendTx);
        out.printf(Locale.ROOT, "byte-exact both ways: %s%n", ok ? "yes" : "NO");
        out.printf(Locale.ROOT, "throughput: %.0f frames/s each way, %.1f Mbit/s (%.2f s, sizes 60..9000)%n",
                t.received / t.seconds, t.bytes * 8 / t.seconds / 1e6, t.seconds);
        VirtualIommu iommu = front.iommu();
        if (iommu != null) {
            IotlbLog log = iommu.log();
            out.printf("IOTLB messages: %d MISS from the backend, %d UPDATE, %d INVALIDATE from the frontend%n",
                    log.count(IotlbLog.Type.MISS), log.count(IotlbLog.Type.UPDATE), log.count(IotlbLog.Type.INVALIDATE));
        }
        for (int v = 0; v < d.vringCount(); v++) {
            Map<String, Long> st = d.stats(v);
            out.printf("  vring %d (%s q%d): %d packets, iotlb hits %d misses %d%n", v, v % 2 == 0 ? "to guest  " : "from guest",
                    v / 2, st.getOrDefault("good_packets", 0L), st.getOrDefault("iotlb_hits", 0L),
                    st.getOrDefault("iotlb_misses", 0L));
        }
        return ok;
    }

    /**
     * The Java IOTLB model (bit-exact with DPDK 22.11), fed the UPDATE/INVALIDATE messages the
     * frontend sends from now on, makes the same random lookups as DPDK's own vhost_iova_to_vva on
     * the live device: both must agree on every hit (and its backend address), every miss, every
     * MISS message, and each vring's hit and miss counters.
     */
    private boolean modelAgrees(VirtioNetFrontend front, VhostDevice d) throws Exception {
        VirtualIommu iommu = front.iommu();
        int vrings = d.vringCount();
        IotlbModelMirror mirror = IotlbModelMirror.of(d);
        IotlbDevice model = mirror.model();
        long fed = iommu.log().nextSeq(); // what the model has not been given yet
        int pages = 12;
        long gpa = front.memory().allocate(pages * PAGE, PAGE);
        long base = 0x7900_0000_0000L;
        iommu.map(base, gpa, 4 * PAGE, Access.RW);
        iommu.map(base + 4 * PAGE, gpa + 4 * PAGE, 4 * PAGE, Access.RO);
        iommu.map(base + 10 * PAGE, gpa + 10 * PAGE, 2 * PAGE, Access.RW);
        for (int v = 0; v < vrings; v++) {
            d.resetStats(v);
        }
        fed = iommu.log().replay(fed, mirror::apply);
        SplittableRandom rnd = new SplittableRandom(seed);
        Access[] accesses = {Access.RO, Access.WO, Access.RW};
        int agreed = 0;
        int disagreed = 0;
        int misses = 0;
        int missMessages = 0;
        for (int op = 0; op < probes; op++) {
            int kind = rnd.nextInt(20);
            if (kind < 15) {
                int v = rnd.nextInt(vrings);
                long iova = base + rnd.nextInt(pages) * PAGE + rnd.nextInt((int) PAGE);
                long len = Math.min(1 + rnd.nextInt((int) (2 * PAGE)), base + pages * PAGE - iova);
                Access a = accesses[rnd.nextInt(3)];
                Translation real = d.iovaToVva(v, iova, len, a);
                long[] sz = {len};
                long vva = model.iovaToVva(v, iova, sz, a);
                boolean same = real.isMiss() == (vva == 0) && (vva == 0 || real.address() == vva && real.length() == sz[0]);
                if (same) {
                    agreed++;
                } else {
                    disagreed++;
                    out.printf("  DISAGREE: vring %d iova 0x%x len %d %s: DPDK %s, model 0x%x/%d%n", v, iova, len, a, real, vva,
                            sz[0]);
                }
                misses += vva == 0 ? 1 : 0;
                IotlbMiss m = model.queue(0).pollMiss();
                if (m != null) {
                    missMessages++;
                    IotlbLog.Event got = await(iommu, fed, IotlbLog.Type.MISS);
                    if (got == null || got.iova() != m.iova() || got.perm() != m.perm().wire()) {
                        disagreed++;
                        out.printf("  DISAGREE: model predicted MISS 0x%x perm %d, frontend got %s%n", m.iova(), m.perm().wire(), got);
                    } else if (got.outcome() == IotlbLog.MissOutcome.ANSWERED) {
                        await(iommu, got.seq(), IotlbLog.Type.UPDATE);
                    }
                }
                fed = iommu.log().replay(fed, mirror::apply);
            } else if (kind < 17) {
                iommu.invalidate(base + rnd.nextInt(pages) * PAGE, (1 + rnd.nextInt(3)) * PAGE);
                fed = iommu.log().replay(fed, mirror::apply);
            } else {
                iommu.update(base + rnd.nextInt(pages) * PAGE, PAGE);
                fed = iommu.log().replay(fed, mirror::apply);
            }
        }
        Thread.sleep(20);
        long unexpected = iommu.log().since(fed).stream().filter(e -> e.type() == IotlbLog.Type.MISS).count();
        boolean counters = true;
        for (int v = 0; v < vrings; v++) {
            Map<String, Long> st = d.stats(v);
            IotlbCache c = (IotlbCache) model.queue(v);
            if (st.get("iotlb_hits") != c.hits() || st.get("iotlb_misses") != c.misses()) {
                counters = false;
                out.printf("  DISAGREE: vring %d counters: DPDK hits %d misses %d, model %d/%d%n", v, st.get("iotlb_hits"),
                        st.get("iotlb_misses"), c.hits(), c.misses());
            }
        }
        boolean ok = disagreed == 0 && unexpected == 0 && counters;
        out.printf("Java IOTLB model vs DPDK: %d of %d random translations agreed (%d misses, %d MISS messages predicted),"
                + " per-vring counters %s: %s%n", agreed, agreed + disagreed, misses, missMessages,
                counters ? "equal" : "DIFFERENT", ok ? "agreed on every translation" : "DISAGREED");
        return ok;
    }

    private static IotlbLog.Event await(VirtualIommu iommu, long from, IotlbLog.Type type) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (IotlbLog.Event e : iommu.log().since(from)) {
                if (e.type() == type) {
                    return e;
                }
            }
            Thread.sleep(1);
        }
        return null;
    }
}
