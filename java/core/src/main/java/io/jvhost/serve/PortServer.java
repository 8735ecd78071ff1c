package io.jvhost.serve;

import io.jvhost.eal.Eal;
import io.jvhost.eal.LcoreRegistration;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Serves vhost-user ports from one busy-polling thread: loopback, forward, sink or source (see
 * {@link Mode}). The engine of {@code jvhost serve}, usable from code as well.
 *
 * <p>Packets a guest did not take (its ring was full, or a buffer was not mapped yet: an IOTLB
 * miss) stay in their batch and are offered again on the next rounds, and no more is dequeued for
 * that queue meanwhile (back-pressure to the sending guest). They are dropped, and counted in
 * {@link QueueCounters#dropped()}, only when the guest took none of them for the hold time, or
 * when the device they wait for goes away. Each port serves its most recent frontend.
 */
public final class PortServer implements AutoCloseable {
    /** Packets per burst. */
    public static final int BURST = 32;
    /** Default hold time: how long packets wait for a guest that takes none, before being dropped. */
    public static final long DEFAULT_HOLD_NANOS = 20_000_000L;

    private final List<VhostUserPort> ports;
    private final Mode mode;
    private final MbufPool pool;
    private final int queuePairs;
    private final byte[] frame;
    private final ByteBuffer header;
    private final long ratePps;
    private final QueueCounters[][] counters;
    private final PacketBatch[][] pending;
    private final long[][] stuckSince;
    private volatile long holdNanos = DEFAULT_HOLD_NANOS;
    // bytes in each pending batch, so that sending needs no per-packet pass in the common case
    private final long[][] pendingBytes;
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;
    private final int[] cpus;
    private volatile IllegalArgumentException pinFailure;
    private final java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);

    private PortServer(List<VhostUserPort> ports, Mode mode, MbufPool pool, int packetSize, long ratePps, int[] cpus) {
        this.cpus = cpus == null ? null : cpus.clone();
        this.ports = List.copyOf(ports);
        this.mode = mode;
        this.pool = pool;
        this.ratePps = ratePps;
        int qp = Integer.MAX_VALUE;
        for (VhostUserPort p : ports) {
            qp = Math.min(qp, p.maxQueuePairs());
        }
        this.queuePairs = qp;
        this.frame = sourceFrame(mode == Mode.SOURCE ? packetSize : 60); // other modes ignore the size
        this.header = ByteBuffer.allocateDirect(Math.min(frame.length, 64)).put(0, frame, 0, Math.min(frame.length, 64));
        this.counters = new QueueCounters[ports.size()][queuePairs];
        this.pending = new PacketBatch[ports.size()][queuePairs];
        this.stuckSince = new long[ports.size()][queuePairs];
        this.pendingBytes = new long[ports.size()][queuePairs];
        for (int p = 0; p < ports.size(); p++) {
            for (int q = 0; q < queuePairs; q++) {
                counters[p][q] = new QueueCounters();
                pending[p][q] = PacketBatch.allocate(BURST);
            }
        }
        this.thread = new Thread(this::run, "jvhost-serve");
        thread.setDaemon(true);
    }

    /**
     * Starts serving.
     *
     * @param ports the ports (exactly two for {@link Mode#FORWARD})
     * @param mode what to do
     * @param pool where packets' mbufs come from
     * @param packetSize for {@link Mode#SOURCE}: frame length in bytes, 60 to the pool's data room
     * @param ratePps for {@link Mode#SOURCE}: packets per second per port and queue pair, 0 for as fast as possible
     * @return the running server
     */
    public static PortServer start(List<VhostUserPort> ports, Mode mode, MbufPool pool, int packetSize, long ratePps) {
        return start(ports, mode, pool, packetSize, ratePps, null);
    }

    /**
     * Starts serving from a thread pinned to {@code cpus}, like a DPDK forwarding lcore (see
     * {@link Eal#pinCurrentThread}); the JVM's other threads keep theirs.
     *
     * @param ports the ports (exactly two for {@link Mode#FORWARD})
     * @param mode what to do
     * @param pool where packets' mbufs come from
     * @param packetSize for {@link Mode#SOURCE}: frame length in bytes, 60 to the pool's data room
     * @param ratePps for {@link Mode#SOURCE}: packets per second per port and queue pair, 0 for as fast as possible
     * @param cpus CPUs for the serving thread, or null to leave it unpinned
     * @return the running server
     * @throws IllegalArgumentException if the thread cannot be pinned to {@code cpus}
     */
    public static PortServer start(List<VhostUserPort> ports, Mode mode, MbufPool pool, int packetSize, long ratePps,
            int[] cpus) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(pool, "pool");
        if (ports.isEmpty()) {
            throw new IllegalArgumentException("no port to serve");
        }
        if (mode == Mode.FORWARD && ports.size() != 2) {
            throw new IllegalArgumentException("forward mode needs exactly two ports, not " + ports.size());
        }
        if (mode == Mode.SOURCE && (packetSize < 60 || packetSize > pool.dataRoom() - 128)) {
            // one segment per frame: setLength needs the whole frame in one mbuf
            throw new IllegalArgumentException("packet size must be 60.." + (pool.dataRoom() - 128) + ": " + packetSize);
        }
        if (ratePps < 0) {
            throw new IllegalArgumentException("rate must not be negative: " + ratePps);
        }
        PortServer s = new PortServer(ports, mode, pool, packetSize, ratePps, cpus);
        s.thread.start();
        boolean interrupted = false;
        while (true) {
            try {
                s.started.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (s.pinFailure != null) {
            s.close(); // the thread has ended without touching a port
            throw s.pinFailure;
        }
        return s;
    }

    private static byte[] sourceFrame(int size) {
        byte[] f = new byte[Math.max(size, 60)];
        // locally administered unicast destination and source, IPv4 ethertype, a counting payload
        f[0] = 0x02;
        f[6] = 0x02;
        f[11] = 0x01;
        f[12] = 0x08;
        for (int i = 14; i < f.length; i++) {
            f[i] = (byte) i;
        }
        return f;
    }

    /**
     * @param nanos how long packets wait for a guest that takes none of them before they are
     *     dropped (default {@value #DEFAULT_HOLD_NANOS} ns)
     * @return this
     */
    public PortServer holdNanos(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("hold time must not be negative: " + nanos);
        }
        this.holdNanos = nanos;
        return this;
    }

    /** @return the mode */
    public Mode mode() {
        return mode;
    }

    /** @return the ports, in the order counters are indexed */
    public List<VhostUserPort> ports() {
        return ports;
    }

    /** @return queue pairs served per port */
    public int queuePairs() {
        return queuePairs;
    }

    /**
     * @param port index in {@link #ports()}
     * @param queuePair the queue pair
     * @return its counters
     */
    public QueueCounters counters(int port, int queuePair) {
        return counters[port][queuePair];
    }

    /** @return whether the serving thread is running */
    public boolean isRunning() {
        return thread.isAlive();
    }

    private void run() {
        try {
            if (cpus != null) {
                Eal.pinCurrentThread(cpus);
            }
        } catch (IllegalArgumentException e) {
            pinFailure = e;
            return;
        } finally {
            started.countDown();
        }
        try (LcoreRegistration lcore = Eal.require().registerThread()) {
            RateLimiter[] limiters = new RateLimiter[ports.size() * queuePairs];
            for (int i = 0; i < limiters.length && ratePps > 0; i++) {
                limiters[i] = new RateLimiter(ratePps, BURST, System.nanoTime());
            }
            while (running) {
                for (int p = 0; p < ports.size(); p++) {
                    VhostDevice d = ports.get(p).currentDevice();
                    for (int q = 0; q < queuePairs; q++) {
                        switch (mode) {
                            case LOOPBACK, MACSWAP -> relay(d, d, p, q, counters[p][q]);
                            case FORWARD -> relay(d, ports.get(1 - p).currentDevice(), p, q, counters[1 - p][q]);
                            case SINK -> sink(d, pending[p][q], counters[p][q], q);
                            case SOURCE -> source(d, p, q, limiters[p * queuePairs + q]);
                            default -> throw new AssertionError(mode);
                        }
                    }
                }
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    /** Packets from port p's guest, through its pending batch, to {@code to}'s guest. */
    private void relay(VhostDevice from, VhostDevice to, int p, int q, QueueCounters out) {
        PacketBatch batch = pending[p][q];
        QueueCounters in = counters[p][q];
        if (to == null || !to.isAlive()) {
            if (!batch.isEmpty() && from == to) {
                in.addDropped(batch.count()); // looped-back packets whose device is gone
                batch.clear();
                pendingBytes[p][q] = 0;
            }
            return; // forward: keep them for the peer's next frontend; back-pressure meanwhile
        }
        if (batch.isEmpty() && from != null) {
            int n = from.dequeue(q, pool, batch);
            if (n == 0) {
                return;
            }
            long b = bytes(batch, 0, n);
            in.addRx(n, b);
            pendingBytes[p][q] = b;
            if (mode == Mode.MACSWAP) {
                swapMacs(batch, n);
            }
        }
        send(to, p, q, out);
    }

    /** Swaps destination (bytes 0-5) and source (6-11) of each frame of 12 bytes or more, in place. */
    private static void swapMacs(PacketBatch batch, int n) {
        for (int i = 0; i < n; i++) {
            Packet p = batch.packet(i);
            if (p.length() >= 12) {
                long a = p.getLong(0); // d0..d5 s0 s1
                int b = p.getInt(8); // s2..s5
                long dst = a >>> 16;
                long src = (a & 0xffff) << 32 | (b & 0xffff_ffffL);
                p.putLong(0, src << 16 | dst >>> 32);
                p.putInt(8, (int) dst);
            }
        }
    }

    private void sink(VhostDevice d, PacketBatch batch, QueueCounters c, int q) {
        if (d == null) {
            return;
        }
        int n = d.dequeue(q, pool, batch);
        if (n > 0) {
            c.addRx(n, bytes(batch, 0, n));
            batch.clear();
        }
    }

    private void source(VhostDevice d, int p, int q, RateLimiter limiter) {
        PacketBatch batch = pending[p][q];
        if (d == null || !d.isAlive()) {
            return;
        }
        if (batch.isEmpty()) {
            int n = BURST;
            if (limiter != null) {
                n = limiter.allowed(System.nanoTime(), n);
                if (n <= 0) {
                    return;
                }
            }
            // headers written, length set, payload left as the buffer holds it: what testpmd's
            // txonly does, so that both generators do the same work per packet
            if (!batch.allocate(pool, n, header, frame.length)) {
                return;
            }
            pendingBytes[p][q] = (long) n * frame.length;
            if (limiter != null) {
                limiter.sent(n);
            }
        }
        send(d, p, q, counters[p][q]);
    }

    /** Offers port p's pending batch of queue pair q to {@code to}; drops it after the hold time. */
    private void send(VhostDevice to, int p, int q, QueueCounters out) {
        PacketBatch batch = pending[p][q];
        int count = batch.count();
        int taken = to.enqueue(q, batch);
        if (taken > 0) {
            long b = pendingBytes[p][q];
            if (taken < count) {
                b -= bytes(batch, 0, count - taken); // what the guest did not take stays pending
            }
            pendingBytes[p][q] -= b;
            out.addTx(taken, b);
            stuckSince[p][q] = 0;
        } else if (!batch.isEmpty()) {
            long now = System.nanoTime();
            if (stuckSince[p][q] == 0) {
                stuckSince[p][q] = now;
            } else if (now - stuckSince[p][q] > holdNanos) {
                counters[p][q].addDropped(batch.count());
                batch.clear();
                pendingBytes[p][q] = 0;
                stuckSince[p][q] = 0;
            }
        }
    }

    private static long bytes(PacketBatch batch, int from, int n) {
        long b = 0;
        for (int i = from; i < from + n; i++) {
            b += batch.packet(i).length();
        }
        return b;
    }

    /**
     * Stops serving and frees the packets still waiting (counted as dropped); idempotent.
     *
     * @throws IllegalStateException if the serving thread failed (its error is the cause)
     */
    @Override
    public void close() {
        running = false;
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (int p = 0; p < pending.length; p++) {
            for (int q = 0; q < queuePairs; q++) {
                PacketBatch b = pending[p][q];
                if (b.isOpen()) {
                    counters[p][q].addDropped(b.count());
                    b.close();
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable t = failure.getAndSet(null);
        if (t != null) {
            throw new IllegalStateException("the serving thread failed: " + t, t);
        }
    }
}
