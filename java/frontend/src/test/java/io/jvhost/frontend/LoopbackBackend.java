package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/**
 * jvhost's own backend (DPDK 22.11's librte_vhost) in this JVM, for the frontend's tests: a
 * {@link VhostUserPort} served by a {@link PortServer} in loopback (every frame dequeued from the
 * guest's transmit ring of queue pair q is enqueued to its receive ring of q). Frames wait up to
 * 5 s for a receive buffer (an IOTLB miss, a read-only page) before jvhost drops them.
 */
final class LoopbackBackend implements AutoCloseable {
    private static final long HOLD_NANOS = 5_000_000_000L;

    private final VhostUserPort port;
    private final MbufPool pool;
    private PortServer server;

    private LoopbackBackend(VhostUserPort port, MbufPool pool) {
        this.port = port;
        this.pool = pool;
    }

    /**
     * @param socket where the port listens
     * @param options the port's options beyond the defaults ({@code b -> b.iommu(true)...})
     * @return a backend serving the port
     */
    static LoopbackBackend start(Path socket, UnaryOperator<VhostUserPort.Builder> options) {
        SharedEal.get();
        VhostUserPort port = options.apply(VhostUserPort.builder(socket)).open();
        MbufPool pool;
        try {
            pool = MbufPool.create(8191);
        } catch (RuntimeException | Error e) {
            port.close();
            throw e;
        }
        LoopbackBackend b = new LoopbackBackend(port, pool);
        try {
            b.serve();
            return b;
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
    }

    VhostUserPort port() {
        return port;
    }

    Path socket() {
        return port.socket();
    }

    /** jvhost's counts of one queue pair at one moment. */
    record Counts(long rx, long tx, long dropped) {
    }

    /** @return jvhost's counts of queue pair {@code q} now (those of the server now running) */
    Counts counts(int q) {
        QueueCounters c = server.counters(0, q);
        return new Counts(c.rxPackets(), c.txPackets(), c.dropped());
    }

    /** @return jvhost's counts of queue pairs 0 to {@code queuePairs - 1} now */
    Counts[] countsOf(int queuePairs) {
        Counts[] all = new Counts[queuePairs];
        for (int q = 0; q < queuePairs; q++) {
            all[q] = counts(q);
        }
        return all;
    }

    /**
     * Asserts that since {@code before} jvhost received exactly {@code n} frames on queue pair
     * {@code q}, sent exactly {@code n} back and dropped none.
     */
    void assertCarried(int q, Counts before, long n) {
        Counts now = counts(q);
        assertThat("jvhost received on queue " + q, now.rx() - before.rx(), is(n));
        assertThat("jvhost sent on queue " + q, now.tx() - before.tx(), is(n));
        assertThat("jvhost dropped on queue " + q, now.dropped() - before.dropped(), is(0L));
    }

    /** Stops serving (nothing moves in the rings any more) until {@link #serve()}. */
    void stopServing() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** Serves the port again, with new counters, if it is not served. */
    void serve() {
        if (server == null) {
            server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0).holdNanos(HOLD_NANOS);
        }
    }

    /**
     * Opens a frontend on this port; see {@link #open(VhostUserPort, VirtioNetFrontend.Builder)}.
     *
     * @param b the frontend, on {@link #socket()}
     * @return the open frontend
     */
    VirtioNetFrontend open(VirtioNetFrontend.Builder b) throws Exception {
        return open(port, b);
    }

    /**
     * Opens a frontend and waits until jvhost sees a new live device (the previous test's device
     * may still be the current one for a moment); with the IOMMU, also until the device is
     * {@linkplain #settle settled}.
     *
     * @param p the port {@code b} connects to
     * @param b the frontend
     * @return the open frontend
     */
    static VirtioNetFrontend open(VhostUserPort p, VirtioNetFrontend.Builder b) throws Exception {
        VhostDevice before = p.currentDevice();
        VirtioNetFrontend dev = b.open();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (p.currentDevice() == null || p.currentDevice() == before || !p.currentDevice().isAlive()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("jvhost saw no new device");
                }
                Thread.sleep(1);
            }
            VhostDevice d = p.currentDevice();
            if (d.iommu()) {
                settle(dev, d);
            }
            return dev;
        } catch (Exception | Error e) {
            dev.close();
            throw e;
        }
    }

    /**
     * Waits until the backend has translated every vring's rings and the frontend has answered
     * everything: with the IOMMU, jvhost sees a device once vrings 0 and 1 are translated, and the
     * others may still be missing their rings (their data path re-translating on each poll).
     *
     * @param dev the frontend, with the IOMMU
     * @param d jvhost's view of the same device
     */
    static void settle(VirtioNetFrontend dev, VhostDevice d) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        for (int v = 0; v < d.vringCount(); v++) {
            while (d.vring(v).descAddress() == 0 || d.vring(v).availAddress() == 0 || d.vring(v).usedAddress() == 0) {
                assertThat("vring " + v + " translated in time", System.nanoTime() < deadline, is(true));
                Thread.sleep(1);
            }
        }
        for (long seen = -1; seen != dev.iommu().log().nextSeq();) {
            seen = dev.iommu().log().nextSeq();
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        stopServing();
        port.close();
        pool.close();
    }
}
