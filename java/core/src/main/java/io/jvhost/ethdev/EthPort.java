package io.jvhost.ethdev;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalException;
import io.jvhost.internal.EalOwnership;
import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MempoolHandle;
import io.jvhost.internal.NativeHandles;
import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeEthdev;
import io.jvhost.internal.NativeLog;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DPDK ethdev port made from a virtual device, e.g. {@code net_virtio_user}: DPDK's own
 * vhost-user frontend, in this process. Useful as a frontend for jvhost's ports, and to forward
 * between a vhost-user port and other DPDK ports.
 *
 * <p>Same ownership rules as {@link io.jvhost.vhost.VhostDevice}: {@link #rxBurst} appends to a
 * batch, {@link #txBurst} removes from its front what the driver took. One thread per queue.
 */
public final class EthPort implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Eal eal;
    private final MbufPool pool;
    private final String name;
    private final int portId;
    private final int queues;
    private final Object[] rxLocks;
    private final Object[] txLocks;
    private volatile boolean open = true;

    private EthPort(Eal eal, MbufPool pool, String name, int portId, int queues) {
        this.eal = eal;
        this.pool = pool;
        this.name = name;
        this.portId = portId;
        this.queues = queues;
        this.rxLocks = newLocks(queues);
        this.txLocks = newLocks(queues);
    }

    private static Object[] newLocks(int n) {
        Object[] locks = new Object[n];
        for (int i = 0; i < n; i++) {
            locks[i] = new Object();
        }
        return locks;
    }

    /**
     * Creates a DPDK virtio-user port connected to a vhost-user socket, with {@code queues} queue
     * pairs, and starts it.
     *
     * @param socket the vhost-user socket (a backend must listen there)
     * @param queues queue pairs
     * @param mergeable negotiate mergeable receive buffers (mrg_rxbuf)
     * @param pool where received packets' mbufs come from
     * @return the started port
     */
    public static EthPort virtioUser(Path socket, int queues, boolean mergeable, MbufPool pool) {
        String args = "path=" + socket.toAbsolutePath() + ",queues=" + queues + ",queue_size=1024,mrg_rxbuf="
                + (mergeable ? 1 : 0);
        return createVdev("net_virtio_user" + COUNTER.getAndIncrement(), args, queues, 1024, pool);
    }

    /**
     * Creates a virtual device (rte_vdev_init), configures {@code queues} rx and tx queues and
     * starts it.
     *
     * @param name the vdev name with its driver prefix, e.g. {@code net_virtio_user7}
     * @param args the driver's arguments
     * @param queues rx and tx queues
     * @param ringSize descriptors per queue
     * @param pool where received packets' mbufs come from
     * @return the started port, owned by EAL
     */
    public static EthPort createVdev(String name, String args, int queues, int ringSize, MbufPool pool) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(args, "args");
        if (queues < 1 || queues > 128) {
            throw new IllegalArgumentException("queues must be 1..128: " + queues);
        }
        if (ringSize < 32 || ringSize > 4096 || Integer.bitCount(ringSize) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two in 32..4096: " + ringSize);
        }
        Eal eal = Eal.require();
        // The port receives into the pool until it is closed: the pool may not go away meanwhile.
        MempoolHandle mempool = NativeHandles.pool(pool);
        long mp = mempool.acquire();
        boolean made = false;
        try (NativeLog.Capture capture = NativeLog.capture(Thread.currentThread())) {
            int port = NativeEthdev.vdevCreate(name, args);
            if (port < 0) {
                throw new EalException("rte_vdev_init(" + name + ", " + args + ") failed", -port,
                        NativeEal.strerror(-port), capture.lines());
            }
            int rc = NativeEthdev.configureAndStart(port, queues, queues, ringSize, mp);
            if (rc != 0) {
                NativeEthdev.close(port, name);
                throw new EalException("configuring port " + name + " failed", -rc, NativeEal.strerror(-rc),
                        capture.lines());
            }
            EthPort p = EalOwnership.own(eal, new EthPort(eal, pool, name, port, queues));
            made = true;
            return p;
        } finally {
            if (!made) {
                mempool.release();
            }
        }
    }

    /** @return the vdev name */
    public String name() {
        return name;
    }

    /** @return DPDK's port id */
    public int portId() {
        return portId;
    }

    /** @return rx/tx queues */
    public int queues() {
        return queues;
    }

    /** @return whether the link is up */
    public boolean linkUp() {
        ensureOpen();
        return NativeEthdev.linkUp(portId) == 1;
    }

    /** @return the port's counters */
    public EthStats stats() {
        ensureOpen();
        return nativeStats(portId);
    }

    /**
     * Receives up to the batch's room from queue q, appending to it.
     *
     * @param queue q
     * @param batch where
     * @return how many; 0 once the port is closed
     */
    public int rxBurst(int queue, PacketBatch batch) {
        checkQueue(queue);
        MbufArray array = NativeHandles.batch(batch);
        array.enter();
        try {
            int room = Math.min(array.remaining(), 0xffff);
            if (room == 0) {
                return 0;
            }
            synchronized (rxLocks[queue]) {
                if (!open) {
                    return 0;
                }
                int n = NativeEthdev.rxBurst(portId, queue, array.pointers(), array.count(), room);
                array.moved(n);
                return n;
            }
        } finally {
            array.exit();
        }
    }

    /**
     * Transmits the batch on queue q; what the driver took leaves the batch, the rest stays.
     *
     * @param queue q
     * @param batch the packets
     * @return how many were taken; 0 once the port is closed
     */
    public int txBurst(int queue, PacketBatch batch) {
        checkQueue(queue);
        MbufArray array = NativeHandles.batch(batch);
        array.enter();
        try {
            int count = Math.min(array.count(), 0xffff);
            if (count == 0) {
                return 0;
            }
            synchronized (txLocks[queue]) {
                if (!open) {
                    return 0;
                }
                int n = NativeEthdev.txBurst(portId, queue, array.pointers(), count);
                array.moved(-n);
                return n;
            }
        } finally {
            array.exit();
        }
    }

    private void checkQueue(int q) {
        if (q < 0 || q >= queues) {
            throw new IllegalArgumentException("queue " + q + " outside 0.." + (queues - 1));
        }
    }

    private void ensureOpen() {
        if (!open) {
            throw new IllegalStateException("port " + name + " is closed");
        }
    }

    /** Stops and closes the port and removes the vdev; idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        for (Object l : rxLocks) {
            synchronized (l) {
                // wait for a burst in progress
            }
        }
        for (Object l : txLocks) {
            synchronized (l) {
                // wait for a burst in progress
            }
        }
        NativeEthdev.close(portId, name);
        NativeHandles.pool(pool).release();
        EalOwnership.disown(eal, this);
    }

    @Override
    public String toString() {
        return "EthPort[" + name + ", port " + portId + (open ? "]" : ", closed]");
    }

    /** rte_eth_stats_get, as a value object built in native/eth_port.c. */
    private static native EthStats nativeStats(int port);
}
