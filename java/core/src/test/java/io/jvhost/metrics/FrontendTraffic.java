package io.jvhost.metrics;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.Traffic;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Traffic from DPDK's virtio-user frontend (in this process) to a loopback server, on a thread of
 * its own: bursts of frames of several sizes out, whatever comes back in. The frontend's own
 * counts are kept as it goes, so that a reader on another thread can bound the server's counts.
 */
final class FrontendTraffic {
    static final int[] SIZES = {60, 64, 128, 512, 1024, 1514, 60, 300};

    final AtomicLong sentPackets = new AtomicLong();
    final AtomicLong sentBytes = new AtomicLong();
    final AtomicLong receivedPackets = new AtomicLong();
    final AtomicLong receivedBytes = new AtomicLong();
    private final EthPort guest;
    private final MbufPool pool;
    private final int rounds;
    private final Thread thread;
    private volatile Throwable failure;

    FrontendTraffic(EthPort guest, MbufPool pool, int rounds) {
        this.guest = guest;
        this.pool = pool;
        this.rounds = rounds;
        this.thread = new Thread(this::run, "frontend-traffic");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try (PacketBatch tx = PacketBatch.allocate(SIZES.length); PacketBatch rx = PacketBatch.allocate(64)) {
            for (int r = 0; r < rounds; r++) {
                Traffic.fill(pool, tx, r * SIZES.length, SIZES);
                while (!tx.isEmpty()) {
                    // counted before the burst: a reader that sees the server count a packet sees it here
                    int before = tx.count();
                    long bytes = 0;
                    for (int i = 0; i < before; i++) {
                        bytes += tx.packet(i).length();
                    }
                    sentPackets.addAndGet(before);
                    sentBytes.addAndGet(bytes);
                    guest.txBurst(0, tx);
                    int left = tx.count();
                    long leftBytes = 0;
                    for (int i = 0; i < left; i++) {
                        leftBytes += tx.packet(i).length();
                    }
                    sentPackets.addAndGet(-left);
                    sentBytes.addAndGet(-leftBytes);
                    receive(rx);
                }
                receive(rx);
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    private void receive(PacketBatch rx) {
        int n = guest.rxBurst(0, rx);
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            bytes += rx.packet(i).length();
        }
        receivedBytes.addAndGet(bytes);
        receivedPackets.addAndGet(n);
        rx.clear();
    }

    boolean isRunning() {
        return thread.isAlive();
    }

    /** Waits for the sending thread to end, then receives until {@code done} says everything is back. */
    void finish(java.util.function.BooleanSupplier done) throws InterruptedException {
        thread.join(60_000);
        if (failure != null) {
            throw new AssertionError("traffic failed", failure);
        }
        if (thread.isAlive()) {
            throw new AssertionError("traffic did not end within 60 s");
        }
        try (PacketBatch rx = PacketBatch.allocate(64)) {
            if (!Traffic.pollUntil(10_000, () -> {
                receive(rx);
                return done.getAsBoolean();
            })) {
                throw new AssertionError("the server did not return or drop every packet in 10 s: sent "
                        + sentPackets + ", received " + receivedPackets);
            }
        }
    }
}
