package io.jvhost.serve;

import io.jvhost.eal.Eal;
import io.jvhost.loop.BurstHandler;
import io.jvhost.loop.EventLoop;
import io.jvhost.loop.IdleStrategy;
import io.jvhost.loop.PortQueue;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Serves vhost-user ports from one thread of an {@link EventLoop}: loopback, forward, sink or
 * source (see {@link Mode}). The engine of {@code jvhost serve}, usable from code as well.
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
    private final VhostUserPort[] portArray;
    private final Mode mode;
    private final MbufPool pool;
    private final int queuePairs;
    private final byte[] frame;
    private final ByteBuffer header;
    private final long ratePps;
    private final QueueCounters[][] counters;
    private final long[][] stuckSince;
    private volatile long holdNanos = DEFAULT_HOLD_NANOS;
    // bytes in each pending batch, so that sending needs no per-packet pass in the common case
    private final long[][] pendingBytes;
    // source mode's pace per port and queue pair; null entries without a rate
    private final RateLimiter[][] limiters;
    private EventLoop loop;

    private PortServer(List<VhostUserPort> ports, Mode mode, MbufPool pool, int packetSize, long ratePps) {
        this.ports = List.copyOf(ports);
        this.portArray = this.ports.toArray(new VhostUserPort[0]);
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
        this.stuckSince = new long[ports.size()][queuePairs];
        this.pendingBytes = new long[ports.size()][queuePairs];
        this.limiters = new RateLimiter[ports.size()][queuePairs];
        for (int p = 0; p < ports.size(); p++) {
            for (int q = 0; q < queuePairs; q++) {
                counters[p][q] = new QueueCounters();
            }
        }
    }

    /**
     * Starts serving, busy polling.
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
     * Starts serving, busy polling, from a thread pinned to {@code cpus}, like a DPDK forwarding
     * lcore (see {@link Eal#pinCurrentThread}); the JVM's other threads keep theirs.
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
        return start(ports, mode, pool, packetSize, ratePps, cpus, IdleStrategy.busySpin());
    }

    /**
     * Starts serving from a thread that waits as {@code idle} says when there is no traffic.
     *
     * @param ports the ports (exactly two for {@link Mode#FORWARD})
     * @param mode what to do
     * @param pool where packets' mbufs come from
     * @param packetSize for {@link Mode#SOURCE}: frame length in bytes, 60 to the pool's data room
     * @param ratePps for {@link Mode#SOURCE}: packets per second per port and queue pair, 0 for as fast as possible
     * @param cpus CPUs for the serving thread, or null to leave it unpinned
     * @param idle how the thread waits after a round with nothing to do, e.g.
     *     {@link IdleStrategy#adaptive()} for an idle server that does not keep a core busy
     * @return the running server
     * @throws IllegalArgumentException if the thread cannot be pinned to {@code cpus}
     */
    public static PortServer start(List<VhostUserPort> ports, Mode mode, MbufPool pool, int packetSize, long ratePps,
            int[] cpus, IdleStrategy idle) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(idle, "idle");
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
        PortServer s = new PortServer(ports, mode, pool, packetSize, ratePps);
        List<PortQueue> queues = new ArrayList<>();
        for (VhostUserPort p : s.ports) {
            for (int q = 0; q < s.queuePairs; q++) {
                queues.add(new PortQueue(p, q));
            }
        }
        s.loop = EventLoop.builder(pool).handler(s.new Handler()).idle(idle).receive(mode != Mode.SOURCE)
                .burst(BURST).threadName("jvhost-serve").thread(cpus, queues).start();
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

    /** @return how the serving thread waits when there is no traffic */
    public IdleStrategy idleStrategy() {
        return loop.idleStrategy();
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
        return loop.isRunning();
    }

    /** Index of a port in {@link #ports}, by identity; a scan, since servers have a few ports. */
    private int index(VhostUserPort port) {
        for (int i = 0; i < portArray.length; i++) {
            if (portArray[i] == port) {
                return i;
            }
        }
        throw new AssertionError(port);
    }

    /** The modes, as the loop's handler; runs on the serving thread. */
    private final class Handler implements BurstHandler {
        @Override
        public int onBurst(VhostDevice device, int q, PacketBatch batch, int received) {
            int p = index(device.port());
            return switch (mode) {
                case LOOPBACK, MACSWAP -> relay(device, p, q, batch, received, p);
                case FORWARD -> relay(portArray[1 - p].currentDevice(), p, q, batch, received, 1 - p);
                case SINK -> sink(p, q, batch, received);
                case SOURCE -> source(device, p, q, batch);
            };
        }

        @Override
        public void deviceGone(VhostDevice device, int q, PacketBatch batch) {
            // looped-back packets have lost their destination; forwarded ones wait for the peer,
            // generated ones for the next frontend
            if (mode == Mode.LOOPBACK || mode == Mode.MACSWAP) {
                drop(index(device.port()), q, batch);
            }
        }

        @Override
        public void stopped(VhostUserPort port, int q, PacketBatch batch) {
            drop(index(port), q, batch);
        }
    }

    /** Port p's packets of queue pair q, through its batch, to {@code to}'s guest, counted in port out's counters. */
    private int relay(VhostDevice to, int p, int q, PacketBatch batch, int received, int out) {
        if (received > 0) {
            long b = bytes(batch, 0, received);
            counters[p][q].addRx(received, b);
            pendingBytes[p][q] = b;
            if (mode == Mode.MACSWAP) {
                swapMacs(batch, received);
            }
        }
        if (to == null || !to.isAlive()) {
            return 0; // forward: keep them for the peer's next frontend; back-pressure meanwhile
        }
        return send(to, p, q, batch, counters[out][q]);
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

    private int sink(int p, int q, PacketBatch batch, int received) {
        counters[p][q].addRx(received, bytes(batch, 0, received));
        batch.clear();
        return 0; // the loop counts the received packets as work
    }

    private int source(VhostDevice d, int p, int q, PacketBatch batch) {
        if (batch.isEmpty()) {
            int n = BURST;
            if (ratePps > 0) {
                RateLimiter limiter = limiters[p][q];
                if (limiter == null) { // paced from the first round it may send
                    limiter = limiters[p][q] = new RateLimiter(ratePps, BURST, System.nanoTime());
                }
                n = limiter.allowed(System.nanoTime(), n);
                if (n <= 0) {
                    return 0;
                }
            }
            // headers written, length set, payload left as the buffer holds it: what testpmd's
            // txonly does, so that both generators do the same work per packet
            if (!batch.allocate(pool, n, header, frame.length)) {
                return 0;
            }
            pendingBytes[p][q] = (long) n * frame.length;
            if (limiters[p][q] != null) {
                limiters[p][q].sent(n);
            }
        }
        return send(d, p, q, batch, counters[p][q]);
    }

    /** Offers port p's pending batch of queue pair q to {@code to}; drops it after the hold time. */
    private int send(VhostDevice to, int p, int q, PacketBatch batch, QueueCounters out) {
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
                drop(p, q, batch);
            }
        }
        return taken;
    }

    /** Frees port p's pending packets of queue pair q, counted as dropped. */
    private void drop(int p, int q, PacketBatch batch) {
        if (!batch.isEmpty()) {
            counters[p][q].addDropped(batch.count());
            batch.clear();
        }
        pendingBytes[p][q] = 0;
        stuckSince[p][q] = 0;
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
        loop.close();
    }
}
