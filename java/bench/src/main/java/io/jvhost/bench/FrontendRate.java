package io.jvhost.bench;

import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.IotlbLog;
import io.jvhost.frontend.VirtioNetFrontend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * The frontend side of the IOMMU rows of scripts/bench.py: the pure-Java frontend, with its
 * virtual IOMMU, connects to a backend that is already listening (jvhost {@code serve --iommu} or
 * testpmd {@code net_vhost iommu-support=1}) and measures one direction's rate on queue pair 0.
 *
 * <ul>
 *   <li>{@code rx} (the backend receives): frames sent as fast as the ring takes them; the rate
 *       is frames the backend took off the ring.
 *   <li>{@code tx} (the backend sends): the rate is frames received.
 *   <li>{@code loop}: up to 128 frames in flight; the rate is frames received back (frames the
 *       backend dropped are given up after 1 ms without any coming back).
 * </ul>
 *
 * <p>{@code FrontendRate <socket> rx|tx|loop <frame-bytes> <warmup-s> <window-s> [off|lazy|qemu|eager]}
 * prints one line {@code rate <Mpps> misses <n>}.
 */
public final class FrontendRate {
    private FrontendRate() {
    }

    /**
     * Runs one measurement.
     *
     * @param args socket, scenario, frame bytes, warm-up seconds, window seconds, IOMMU mode
     * @throws Exception if the connection fails
     */
    public static void main(String[] args) throws Exception {
        Path sock = Path.of(args[0]);
        String scenario = args[1];
        int size = Integer.parseInt(args[2]);
        long warmupNanos = (long) (Double.parseDouble(args[3]) * 1e9);
        long windowNanos = (long) (Double.parseDouble(args[4]) * 1e9);
        IommuMode mode = IommuMode.valueOf((args.length > 5 ? args[5] : "qemu").toUpperCase(Locale.ROOT));
        if (!scenario.equals("rx") && !scenario.equals("tx") && !scenario.equals("loop")) {
            throw new IllegalArgumentException("scenario must be rx, tx or loop: " + scenario);
        }
        byte[] frame = new byte[size];
        frame[0] = 0x02;
        frame[6] = 0x02;
        frame[12] = 0x08;
        try (VirtioNetFrontend front = VirtioNetFrontend.builder(sock).iommu(mode).timeout(Duration.ofSeconds(20))
                .open()) {
            byte[] buf = new byte[front.maxFrameSize()];
            run(front, scenario, frame, buf, warmupNanos);
            long missesBefore = misses(front);
            long t0 = System.nanoTime();
            long n = run(front, scenario, frame, buf, windowNanos);
            long t1 = System.nanoTime();
            System.out.printf(Locale.ROOT, "rate %.4f misses %d%n", n / ((t1 - t0) / 1e3), misses(front) - missesBefore);
        }
    }

    private static long misses(VirtioNetFrontend front) {
        return front.iommu() == null ? 0 : front.iommu().log().count(IotlbLog.Type.MISS);
    }

    /** @return frames counted for the scenario within {@code nanos} */
    private static long run(VirtioNetFrontend front, String scenario, byte[] frame, byte[] buf, long nanos) {
        long end = System.nanoTime() + nanos;
        long sent = 0;
        long received = 0;
        int startInFlight = scenario.equals("rx") ? front.txInFlight(0) : 0;
        long lost = 0;
        long idleSince = 0;
        int i = 0;
        while (true) {
            if ((++i & 63) == 0 && System.nanoTime() >= end) {
                break;
            }
            boolean progress;
            switch (scenario) {
                case "rx" -> {
                    progress = front.send(0, frame, 0, frame.length);
                    if (progress) {
                        sent++;
                    }
                }
                case "tx" -> {
                    progress = front.receive(0, buf) >= 0;
                    if (progress) {
                        received++;
                    }
                }
                default -> {
                    progress = false;
                    if (sent - received - lost < 128 && front.send(0, frame, 0, frame.length)) {
                        sent++;
                        progress = true;
                    }
                    if (front.receive(0, buf) >= 0) {
                        received++;
                        progress = true;
                    }
                }
            }
            if (progress) {
                idleSince = 0;
            } else if (idleSince == 0) {
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince > 1_000_000L) {
                // nothing came back for 1 ms: the backend dropped what is in flight (testpmd's
                // net_vhost drops what the guest's ring cannot take, e.g. while an IOTLB MISS for
                // a receive buffer is answered); count it lost so the loop does not wait forever
                lost = sent - received;
                idleSince = 0;
            }
            if (!progress) {
                // the frontend's IOTLB reader thread, which answers the backend's MISS, may share
                // this CPU: without a yield a MISS waits for the next scheduler tick
                Thread.yield();
            }
        }
        if (scenario.equals("rx")) {
            // frames the backend took: sent, less the growth of what is still on the ring
            return sent - (front.txInFlight(0) - startInFlight);
        }
        if (scenario.equals("loop")) {
            // drain what is still in flight so a next window starts clean
            long deadline = System.nanoTime() + 1_000_000_000L;
            long got = received + lost;
            while (got < sent && System.nanoTime() < deadline) {
                if (front.receive(0, buf) >= 0) {
                    got++;
                }
            }
        }
        return received;
    }
}
