package io.jvhost.frontend;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.jvhost.protocol.Access;
import io.jvhost.testing.NetVhostTestpmd;

/**
 * Benchmark (not a test) of the Java frontend against testpmd's {@code net_vhost}
 * ({@code iommu-support=1}, io forwarding on one port): the IOTLB MISS round trip as a
 * distribution, and echo throughput with the IOMMU off and on in the same run.
 *
 * <p>Run by {@code scripts/bench-frontend.sh}; arguments: {@code testpmd|jvhost [iterations] [seconds]}.
 * Prints a Markdown section.
 */
public final class FrontendBench {
    private FrontendBench() {
    }

    public static void main(String[] args) throws Exception {
        String backend = args.length > 0 ? args[0] : "testpmd";
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path dir = Files.createTempDirectory("jvhost-bench-");
        StringBuilder md = new StringBuilder();
        try {
            if (backend.equals("testpmd")) {
                try (NetVhostTestpmd t = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().queues(1).iommu(true))) {
                    md.append("#### Backend: testpmd `net_vhost` (io forwarding)\n\n");
                    md.append(missRoundTrip(t.socket(), iterations));
                    md.append('\n');
                    md.append(throughput(t.socket(), seconds, "testpmd echoes them (io fwd, one forwarding lcore on CPU 1, "
                            + "the JVM pinned to CPU 0)"));
                }
            } else if (backend.equals("jvhost")) {
                md.append(JvhostSide.run(dir, iterations, seconds));
            } else {
                throw new IllegalArgumentException("backend must be testpmd or jvhost: " + backend);
            }
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
        System.out.print(md);
        System.out.flush();
        Runtime.getRuntime().halt(0); // EAL and the port server threads need no orderly exit here
    }

    /** The jvhost backend in this JVM: DPDK's own translation timed from the backend side. */
    static final class JvhostSide {
        static String run(Path dir, int iterations, int seconds) throws Exception {
            io.jvhost.eal.Eal.start(io.jvhost.eal.EalConfig.builder().memoryMb(512).build());
            StringBuilder md = new StringBuilder("#### Backend: jvhost (`VhostUserPort`, `PortServer` loopback, same JVM)\n\n");
            try (io.jvhost.vhost.VhostUserPort port = io.jvhost.vhost.VhostUserPort.builder(dir.resolve("jv.sock"))
                    .iommu(true).open();
                    io.jvhost.mbuf.MbufPool pool = io.jvhost.mbuf.MbufPool.create(8191)) {
                md.append(backendRoundTrip(port, iterations));
                md.append('\n');
                try (io.jvhost.serve.PortServer server = io.jvhost.serve.PortServer.start(java.util.List.of(port),
                        io.jvhost.serve.Mode.LOOPBACK, pool, 64, 0)) {
                    md.append(throughput(port.socket(), seconds, "jvhost's PortServer echoes them (loopback, one "
                            + "busy-polling Java thread; JVM not pinned, both cores shared by the two Java threads and "
                            + "DPDK's vhost thread)"));
                }
            }
            return md.toString();
        }

        static String backendRoundTrip(io.jvhost.vhost.VhostUserPort port, int iterations) throws Exception {
            long[] rtt = new long[iterations];
            long[] service;
            try (VirtioNetFrontend dev = VirtioNetFrontend.builder(port.socket()).iommu(IommuMode.LAZY).open()) {
                io.jvhost.vhost.VhostDevice d = port.awaitDevice(Duration.ofSeconds(10));
                long gpa = dev.memory().allocate(GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE);
                long iova = 0x7700_0000_0000L;
                dev.iommu().map(iova, gpa, GuestMemory.PAGE_SIZE, Access.RW);
                for (int i = 0; i < 200; i++) {
                    dev.iommu().invalidate(iova, GuestMemory.PAGE_SIZE);
                    spinUntilHit(d, iova);
                }
                long mark = dev.iommu().log().nextSeq();
                for (int i = 0; i < iterations; i++) {
                    dev.iommu().invalidate(iova, GuestMemory.PAGE_SIZE);
                    rtt[i] = spinUntilHit(d, iova);
                }
                service = dev.iommu().log().since(mark).stream()
                        .filter(e -> e.type() == IotlbLog.Type.UPDATE && e.cause() == IotlbLog.Cause.MISS)
                        .mapToLong(IotlbLog.Event::latencyNanos).toArray();
            }
            StringBuilder sb = new StringBuilder("##### IOTLB MISS round trip, timed in the backend\n\n");
            sb.append(String.format(Locale.ROOT, "%d times: INVALIDATE the page (acked), then `VhostDevice.iovaToVva` "
                    + "(DPDK's `vhost_iova_to_vva` on vring 0) misses and sends the MISS; the same call is repeated "
                    + "until it hits (the frontend's UPDATE arrived and was inserted). *service*: frontend side, MISS "
                    + "read to UPDATE acked.%n%n", iterations));
            sb.append("| µs | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|\n");
            sb.append(row("iovaToVva miss → hit", rtt));
            sb.append(row("MISS service in frontend", service));
            return sb.toString();
        }

        private static long spinUntilHit(io.jvhost.vhost.VhostDevice d, long iova) {
            long t0 = System.nanoTime();
            long deadline = t0 + 5_000_000_000L;
            while (d.iovaToVva(0, iova, 64, Access.RO).isMiss()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no UPDATE within 5 s");
                }
                Thread.yield();
            }
            return System.nanoTime() - t0;
        }
    }

    /** Echo of one 60-byte frame, warm, and with the transmit buffers invalidated before each. */
    static String missRoundTrip(Path socket, int iterations) throws Exception {
        long[] warm = new long[iterations];
        long[] cold = new long[iterations];
        long[] service;
        long misses;
        try (VirtioNetFrontend dev = VirtioNetFrontend.builder(socket).iommu(IommuMode.QEMU).open()) {
            byte[] f = Traffic.frame(0, 1, 60);
            byte[] buf = new byte[dev.maxFrameSize()];
            VringLayout tx = dev.layout(1);
            // warm up: every page translated once, JIT
            for (int i = 0; i < 2000; i++) {
                echoOnce(dev, f, buf);
            }
            for (int i = 0; i < iterations; i++) {
                warm[i] = echoOnce(dev, f, buf);
            }
            long mark = dev.iommu().log().nextSeq();
            for (int i = 0; i < iterations; i++) {
                dev.iommu().invalidate(tx.bufferAddr(), tx.bufferBytes());
                cold[i] = echoOnce(dev, f, buf);
            }
            List<IotlbLog.Event> ev = dev.iommu().log().since(mark);
            misses = ev.stream().filter(e -> e.type() == IotlbLog.Type.MISS).count();
            service = ev.stream().filter(e -> e.type() == IotlbLog.Type.UPDATE && e.cause() == IotlbLog.Cause.MISS)
                    .mapToLong(IotlbLog.Event::latencyNanos).toArray();
        }
        StringBuilder sb = new StringBuilder();
        sb.append("##### IOTLB MISS round trip, timed by echoes\n\n");
        sb.append(String.format(Locale.ROOT,
                "%d echoes of one 60-byte frame through testpmd (io fwd), IOMMU on (QEMU mode, 4 KiB IOTLB granule). "
                        + "*cold*: an INVALIDATE of queue 0's transmit buffers (acked) before each echo, so the backend "
                        + "misses the frame's page, sends a MISS, the frontend answers with an UPDATE, the backend's next "
                        + "poll hits. *service*: frontend side only, from reading the MISS to the UPDATE's REPLY_ACK. "
                        + "%d MISS messages for %d cold echoes.%n%n", iterations, misses, iterations));
        sb.append("| µs | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|\n");
        sb.append(row("warm echo", warm));
        sb.append(row("cold echo (MISS + UPDATE)", cold));
        sb.append(row("MISS service in frontend", service));
        long[] diff = new long[iterations];
        long w50 = pct(sorted(warm), 50);
        for (int i = 0; i < iterations; i++) {
            diff[i] = cold[i] - w50;
        }
        sb.append(row("cold − warm p50 (≈ MISS round trip)", diff));
        return sb.toString();
    }

    private static long echoOnce(VirtioNetFrontend dev, byte[] f, byte[] buf) {
        long t0 = System.nanoTime();
        while (!dev.send(0, f, 0, f.length)) {
            Thread.yield();
        }
        long deadline = t0 + Duration.ofSeconds(5).toNanos();
        // yield rather than spin: on 2 cores the IOTLB reader thread and DPDK's vhost thread need
        // this core to answer a MISS
        while (dev.receive(0, buf) < 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("echo lost");
            }
            Thread.yield();
        }
        return System.nanoTime() - t0;
    }

    static final int REPS = 3;

    static String throughput(Path socket, int seconds, String who) throws Exception {
        StringBuilder sb = new StringBuilder();
        sb.append("##### Echo throughput, IOMMU off vs on\n\n");
        sb.append(String.format(Locale.ROOT, "One Java thread keeps up to 128 frames in flight on queue 0 for %d s per "
                + "run (after 0.5 s warm-up); %s. Same backend for all rows, one frontend connection per run; the "
                + "configurations are interleaved, %d runs each: median [min–max]. Mpps and Gbit/s count frames "
                + "received back.%n%n", seconds, who, REPS));
        sb.append("| frame | IOMMU | IOTLB granule | Mpps | Gbit/s | MISS during runs |\n|---|---|---|---|---|---|\n");
        Object[][] cfgs = {{IommuMode.OFF, 0L}, {IommuMode.QEMU, 4096L}, {IommuMode.QEMU, 0L}};
        for (int size : new int[] {64, 1500}) {
            double[][] pps = new double[cfgs.length][REPS];
            long[] misses = new long[cfgs.length];
            for (int rep = 0; rep < REPS; rep++) {
                for (int c = 0; c < cfgs.length; c++) {
                    IommuMode mode = (IommuMode) cfgs[c][0];
                    long granule = (Long) cfgs[c][1];
                    try (VirtioNetFrontend dev = VirtioNetFrontend.builder(socket).iommu(mode).iotlbGranule(granule)
                            .open()) {
                        runFor(dev, size, 500);
                        long mark = dev.iommu() == null ? 0 : dev.iommu().log().nextSeq();
                        long[] r = runFor(dev, size, seconds * 1000L);
                        if (dev.iommu() != null) {
                            misses[c] += dev.iommu().log().since(mark).stream()
                                    .filter(e -> e.type() == IotlbLog.Type.MISS).count();
                        }
                        pps[c][rep] = r[0] / (r[1] / 1e9);
                    }
                }
            }
            for (int c = 0; c < cfgs.length; c++) {
                IommuMode mode = (IommuMode) cfgs[c][0];
                long granule = (Long) cfgs[c][1];
                double[] v = pps[c].clone();
                Arrays.sort(v);
                double med = v[v.length / 2];
                sb.append(String.format(Locale.ROOT, "| %d B | %s | %s | %.2f [%.2f–%.2f] | %.2f | %s |%n", size,
                        mode == IommuMode.OFF ? "off" : "on",
                        mode == IommuMode.OFF ? "–" : granule == 0 ? "whole mapping" : granule / 1024 + " KiB",
                        med / 1e6, v[0] / 1e6, v[v.length - 1] / 1e6, med * size * 8 / 1e9,
                        mode == IommuMode.OFF ? "–" : Long.toString(misses[c])));
            }
        }
        return sb.toString();
    }

    /** @return {frames received, nanos} */
    private static long[] runFor(VirtioNetFrontend dev, int size, long millis) {
        byte[] f = Traffic.frame(0, 7, size);
        byte[] buf = new byte[dev.maxFrameSize()];
        long t0 = System.nanoTime();
        long end = t0 + millis * 1_000_000L;
        long sent = 0;
        long got = 0;
        while (System.nanoTime() < end) {
            boolean progress = false;
            while (sent - got < 128 && dev.send(0, f, 0, f.length)) {
                sent++;
                progress = true;
            }
            while (dev.receive(0, buf) >= 0) {
                got++;
                progress = true;
            }
            if (!progress) {
                Thread.yield();
            }
        }
        long stop = System.nanoTime();
        // let stragglers come back so the next row starts clean
        long drainEnd = System.nanoTime() + 500_000_000L;
        while (got < sent && System.nanoTime() < drainEnd) {
            if (dev.receive(0, buf) >= 0) {
                got++;
            }
        }
        return new long[] {got, stop - t0};
    }

    private static long[] sorted(long[] a) {
        long[] s = a.clone();
        Arrays.sort(s);
        return s;
    }

    private static long pct(long[] sortedValues, double p) {
        if (sortedValues.length == 0) {
            return 0;
        }
        int i = (int) Math.min(sortedValues.length - 1, Math.round(p / 100.0 * (sortedValues.length - 1)));
        return sortedValues[i];
    }

    private static String row(String name, long[] values) {
        long[] s = sorted(values);
        double mean = Arrays.stream(values).average().orElse(0);
        return String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |%n", name, pct(s, 50) / 1e3,
                pct(s, 90) / 1e3, pct(s, 99) / 1e3, s.length == 0 ? 0 : s[s.length - 1] / 1e3, mean / 1e3);
    }
}
