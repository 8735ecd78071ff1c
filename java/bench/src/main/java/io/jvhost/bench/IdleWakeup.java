package io.jvhost.bench;

import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.VirtioNetFrontend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * The latency of the first packet after an idle time, seen by the pure-Java frontend against a
 * backend in loopback (e.g. {@code jvhost serve --mode loopback --idle adaptive}): after
 * {@code idle-ms} without traffic, the time from putting one frame on the transmit ring to taking
 * it back off the receive ring, polling. With an adaptive idle strategy this includes the
 * backend's wake-up from its park.
 *
 * <p>{@code IdleWakeup <socket> <repetitions> <idle-ms>} prints one line
 * {@code wakeup_us median <m> p90 <p> min <a> max <b> reps <n>}.
 */
public final class IdleWakeup {
    private IdleWakeup() {
    }

    /**
     * Runs the measurement.
     *
     * @param args socket, repetitions, idle milliseconds
     * @throws Exception if the connection fails or a frame does not come back within 5 s
     */
    public static void main(String[] args) throws Exception {
        Path sock = Path.of(args[0]);
        int reps = Integer.parseInt(args[1]);
        long idleMillis = Long.parseLong(args[2]);
        byte[] frame = new byte[64];
        frame[0] = 0x02;
        frame[6] = 0x02;
        frame[12] = 0x08;
        try (VirtioNetFrontend front = VirtioNetFrontend.builder(sock).iommu(IommuMode.OFF)
                .timeout(Duration.ofSeconds(20)).open()) {
            byte[] buf = new byte[front.maxFrameSize()];
            for (int i = 0; i < 2_000; i++) { // both sides' JIT, in busy rounds
                echo(front, frame, buf);
            }
            long[] micros = new long[reps];
            for (int r = 0; r < reps; r++) {
                Thread.sleep(idleMillis);
                micros[r] = echo(front, frame, buf) / 1_000;
            }
            long[] sorted = micros.clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "wakeup_us median %d p90 %d min %d max %d reps %d all %s%n",
                    sorted[reps / 2], sorted[(int) Math.min(reps - 1, Math.round(reps * 0.9))], sorted[0],
                    sorted[reps - 1], reps, Arrays.toString(micros));
        }
    }

    /** One frame there and back; its round trip in nanoseconds. */
    private static long echo(VirtioNetFrontend front, byte[] frame, byte[] buf) {
        long t0 = System.nanoTime();
        if (!front.send(0, frame, 0, frame.length)) {
            throw new IllegalStateException("transmit ring full");
        }
        long deadline = t0 + 5_000_000_000L;
        while (front.receive(0, buf) < 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the frame did not come back within 5 s");
            }
        }
        return System.nanoTime() - t0;
    }
}
