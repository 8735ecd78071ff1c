package io.jvhost.frontend;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/** Frames with recognizable contents, and a send-and-collect loop over a {@link VirtioNetFrontend}. */
final class Traffic {
    /** Frame sizes from the minimum Ethernet frame to jumbo, across buffer and page boundaries. */
    static final int[] SIZES = {60, 61, 64, 127, 128, 511, 1500, 1514, 2035, 2036, 2047, 2048, 2049, 4084, 4096, 4097,
        6000, 8180, 8192, 9000};

    private Traffic() {
    }

    /** A frame: broadcast-free unicast MACs, ethertype 0x88b5, payload derived from (queue, seq). */
    static byte[] frame(int queue, int seq, int size) {
        byte[] f = new byte[size];
        byte[] dst = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
        byte[] src = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        int x = queue * 0x1000193 ^ seq * 0x9e3779b9;
        for (int i = 14; i < size; i++) {
            x = x * 1103515245 + 12345;
            f[i] = (byte) (x >>> 16);
        }
        if (size >= 22) {
            f[14] = (byte) queue;
            f[15] = (byte) (seq >>> 24);
            f[16] = (byte) (seq >>> 16);
            f[17] = (byte) (seq >>> 8);
            f[18] = (byte) seq;
        }
        return f;
    }

    /** What came back. */
    record Result(int sent, List<byte[]> received) {
    }

    /**
     * Sends {@code count} frames on queue {@code q} (sizes cycling through {@code sizes}) and
     * collects frames from the same queue until {@code count} arrived or {@code timeout}.
     */
    static Result exchange(VirtioNetFrontend dev, int q, int count, int[] sizes, Duration timeout) {
        List<byte[]> got = new ArrayList<>();
        byte[] buf = new byte[dev.maxFrameSize() + 64];
        long deadline = System.nanoTime() + timeout.toNanos();
        int sent = 0;
        while ((sent < count || got.size() < count) && System.nanoTime() < deadline) {
            boolean progress = false;
            if (sent < count) {
                byte[] f = frame(q, sent, sizes[sent % sizes.length]);
                if (dev.send(q, f, 0, f.length)) {
                    sent++;
                    progress = true;
                }
            }
            int n;
            while ((n = dev.receive(q, buf)) >= 0) {
                got.add(Arrays.copyOf(buf, n));
                progress = true;
            }
            if (!progress) {
                LockSupport.parkNanos(20_000);
            }
        }
        return new Result(sent, got);
    }

    /** Collects whatever arrives on queue {@code q} during {@code d}. */
    static List<byte[]> drain(VirtioNetFrontend dev, int q, Duration d) {
        List<byte[]> got = new ArrayList<>();
        byte[] buf = new byte[dev.maxFrameSize() + 64];
        long deadline = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < deadline) {
            int n = dev.receive(q, buf);
            if (n >= 0) {
                got.add(Arrays.copyOf(buf, n));
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
        return got;
    }
}
