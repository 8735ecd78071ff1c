package io.jvhost.bench;

import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.IotlbLog;
import io.jvhost.frontend.VirtioNetFrontend;
import io.jvhost.frontend.VirtualIommu;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The soak run of scripts/soak.sh: {@code jvhost serve --iommu --mode loopback} in a child process,
 * driven by the pure-Java frontend (virtual IOMMU, lazy mapping) in this one, with an INVALIDATE of
 * every mapping every so many packets. Every frame sent is accounted for at the end: received back
 * (its sequence number checked in order), or counted by serve as dropped. The serving process's
 * RSS and open fds are sampled every minute.
 *
 * <p>{@code SoakDriver <jar> <packets> <invalidate-every> <frame-bytes> <queues> <out.md>}
 */
public final class SoakDriver {
    private SoakDriver() {
    }

    public static void main(String[] args) throws Exception {
        String jar = args[0];
        long packets = Long.parseLong(args[1]);
        long invalidateEvery = Long.parseLong(args[2]);
        int size = Integer.parseInt(args[3]);
        int queues = Integer.parseInt(args[4]);
        Path report = Path.of(args[5]);
        Path dir = Files.createTempDirectory("jvhost-soak");
        Path sock = dir.resolve("vhost.sock");
        Path serveLog = dir.resolve("serve.log");
        Process serve = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar,
                "serve", "--socket", sock.toString(), "--iommu", "--mode", "loopback", "--queues", Integer.toString(queues),
                "--stats-period", "0", "--hold-ms", "5000").redirectErrorStream(true).redirectOutput(serveLog.toFile()).start();
        List<String> samples = new ArrayList<>();
        long sent = 0;
        long received = 0;
        long outOfOrder = 0;
        long start = System.nanoTime();
        try {
            while (!Files.exists(sock)) {
                if (!serve.isAlive()) {
                    throw new IllegalStateException("serve ended: " + Files.readString(serveLog));
                }
                Thread.sleep(50);
            }
            try (VirtioNetFrontend front = VirtioNetFrontend.builder(sock).queuePairs(queues).iommu(IommuMode.LAZY).open()) {
                VirtualIommu iommu = front.iommu();
                long[] sentQ = new long[queues];
                long[] recvQ = new long[queues];
                byte[] frame = new byte[size];
                byte[] buf = new byte[front.maxFrameSize() + 64];
                frame[0] = 0x02;
                frame[12] = 0x08;
                long nextSample = System.nanoTime();
                long lastProgress = System.nanoTime();
                long nextInvalidate = invalidateEvery;
                while (received < packets) {
                    boolean progress = false;
                    for (int q = 0; q < queues; q++) {
                        if (sent < packets && sentQ[q] - recvQ[q] < 128) {
                            putSeq(frame, sentQ[q]);
                            if (front.send(q, frame, 0, size)) {
                                sentQ[q]++;
                                sent++;
                                progress = true;
                            }
                        }
                        int n;
                        while ((n = front.receive(q, buf)) >= 0) {
                            if (n != size || getSeq(buf) != recvQ[q]) {
                                outOfOrder++;
                            }
                            recvQ[q]++;
                            received++;
                            progress = true;
                        }
                    }
                    if (invalidateEvery > 0 && received >= nextInvalidate && received < packets) {
                        nextInvalidate += invalidateEvery;
                        for (VirtualIommu.Mapping m : iommu.mappings()) {
                            iommu.invalidate(m.iova(), m.size());
                        }
                    }
                    long now = System.nanoTime();
                    if (progress) {
                        lastProgress = now;
                    } else {
                        if (now - lastProgress > 30_000_000_000L) {
                            break; // nothing for 30 s: what is missing is reported below
                        }
                        LockSupport.parkNanos(10_000);
                    }
                    if (now >= nextSample) {
                        nextSample = now + 60_000_000_000L;
                        samples.add(sample(serve.pid(), (now - start) / 1e9, received));
                        System.out.println(samples.get(samples.size() - 1));
                    }
                }
                samples.add(sample(serve.pid(), (System.nanoTime() - start) / 1e9, received));
                IotlbLog log = iommu.log();
                double secs = (System.nanoTime() - start) / 1e9;
                new ProcessBuilder("kill", "-INT", Long.toString(serve.pid())).start().waitFor();
                if (!serve.waitFor(60, TimeUnit.SECONDS)) {
                    serve.destroyForcibly();
                }
                String serveOut = Files.readString(serveLog, StandardCharsets.UTF_8);
                long serveRx = 0;
                long serveTx = 0;
                long serveDropped = 0;
                Matcher m = Pattern.compile("rx (\\d+) packets \\d+ bytes \\| tx (\\d+) packets \\d+ bytes \\| dropped (\\d+)")
                        .matcher(serveOut);
                while (m.find()) {
                    serveRx += Long.parseLong(m.group(1));
                    serveTx += Long.parseLong(m.group(2));
                    serveDropped += Long.parseLong(m.group(3));
                }
                boolean balanced = sent == received + serveDropped && serveRx == sent && serveTx == received;
                StringBuilder r = new StringBuilder();
                r.append(String.format(Locale.ROOT, "soak: %d frames of %d B on %d queue pair(s), IOMMU on (lazy), INVALIDATE of"
                        + " every mapping every %d frames; %.1f s, %.0f frames/s%n", packets, size, queues, invalidateEvery,
                        secs, received / secs));
                r.append(String.format(Locale.ROOT, "frontend: sent %d, received back %d (%d out of order or corrupt)%n", sent,
                        received, outOfOrder));
                r.append(String.format(Locale.ROOT, "serve: received %d, sent back %d, dropped %d; exit status %d%n", serveRx,
                        serveTx, serveDropped, serve.exitValue()));
                r.append(String.format(Locale.ROOT, "IOTLB: %d MISS, %d UPDATE, %d INVALIDATE%n", log.count(IotlbLog.Type.MISS),
                        log.count(IotlbLog.Type.UPDATE), log.count(IotlbLog.Type.INVALIDATE)));
                r.append(String.format("accounting sent = received + dropped: %s%n", balanced ? "exact" : "BROKEN"));
                r.append("samples of serve (elapsed s, frames back, RSS kB, open fds):\n");
                samples.forEach(s -> r.append("  ").append(s).append('\n'));
                System.out.print(r);
                Files.writeString(report, r.toString());
                System.exit(balanced && outOfOrder == 0 && serve.exitValue() == 0 ? 0 : 1);
            }
        } finally {
            if (serve.isAlive()) {
                serve.destroyForcibly();
            }
            Files.deleteIfExists(sock);
            Files.deleteIfExists(serveLog);
            Files.deleteIfExists(dir);
        }
    }

    private static void putSeq(byte[] f, long seq) {
        for (int i = 0; i < 8; i++) {
            f[14 + i] = (byte) (seq >>> (56 - 8 * i));
        }
    }

    private static long getSeq(byte[] f) {
        long s = 0;
        for (int i = 0; i < 8; i++) {
            s = s << 8 | (f[14 + i] & 0xff);
        }
        return s;
    }

    private static String sample(long pid, double secs, long received) throws IOException {
        long rss = -1;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                rss = Long.parseLong(l.replaceAll("\\D+", ""));
            }
        }
        long fds;
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            fds = s.count();
        }
        return String.format(Locale.ROOT, "%8.0f %12d %10d %6d", secs, received, rss, fds);
    }
}
