package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * DPDK 22.11's own vhost IOTLB, called from Java: a standalone device ({@code struct virtio_net})
 * with {@code queues} virtqueues, allocated by the shim with {@code rte_zmalloc} in the state DPDK
 * gives a device whose frontend negotiated IOMMU support ({@code VIRTIO_DEV_SUPPORT_IOMMU},
 * {@code VIRTIO_F_IOMMU_PLATFORM}, protocol features REPLY_ACK and SLAVE_REQ), each virtqueue set
 * up by {@code vhost_user_iotlb_init} with its own pool of 2048 entries. Every method calls the
 * DPDK function of the same name, with the locking DPDK's callers use.
 *
 * <p>The device has a real backend-request ("slave") channel: {@code slave_req_fd} is one end of
 * a Unix stream socketpair, and the IOTLB MISS messages {@code __vhost_iova_to_vva} sends arrive at
 * the other end, the frontend's, which the shim keeps. {@link #readBackendRequest()} returns them
 * byte for byte (the shim takes them off the socket after every miss, so DPDK never blocks on a
 * full socket; beyond 1 MiB left unread the oldest are dropped and counted in
 * {@link #droppedRequests()}). {@link #disconnectFrontend()} closes the frontend's end, so later
 * sends fail as they do when QEMU is gone.
 *
 * <p>Random eviction uses DPDK's {@code rte_rand()}, whose state is per lcore and global to the
 * process: {@link #srand(long)} is {@code rte_srand}, which reseeds the generator of the whole
 * process (every lcore's state, used by anything in DPDK that draws random numbers), not just this
 * handle's. With the same seed and the same {@linkplain #randStateIndex() state index}, an
 * {@link IotlbCache} with an {@link RteRandom} evicts the same entries.
 *
 * <p>EAL must be running ({@link Eal#require()}); the handle is {@linkplain Eal#own owned} by it.
 * Many handles may exist at once. All methods are thread-safe and check their arguments (a closed
 * handle gives {@link IllegalStateException}, a bad queue index or permission
 * {@link IllegalArgumentException}), so that no call can crash the JVM; {@link #close()} waits for
 * calls in progress.
 */
public final class NativeIotlb extends NativeIotlbHandle {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final int queues;
    private final String name;

    /** A device with one virtqueue. */
    public NativeIotlb() {
        this(1);
    }

    /**
     * @param queues the number of virtqueues (1 to 256), each with its own IOTLB
     * @throws IllegalStateException if EAL is not running
     * @throws IllegalArgumentException for a bad number of queues
     * @throws OutOfMemoryError if DPDK's heap has no room
     */
    public NativeIotlb(int queues) {
        this(checkQueues(queues), "jvhost-iotlb-" + COUNTER.incrementAndGet());
    }

    private NativeIotlb(int queues, String name) {
        super(Eal.require(), io.jvhost.internal.NativeIotlbCache.create(queues, name));
        this.queues = queues;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** @return the number of virtqueues */
    public int queues() {
        return queues;
    }

    @Override
    public int queueCount() {
        return queues;
    }

    /**
     * {@code rte_srand(seed)}: reseeds DPDK's random generator for the whole process, every
     * lcore's state ({@code seed + lcore}), which random eviction of every handle (and anything
     * else in DPDK using {@code rte_rand}) draws from.
     *
     * @param seed the seed
     * @throws IllegalStateException if EAL is not running
     */
    public static void srand(long seed) {
        Eal.require();
        io.jvhost.internal.NativeRand.srand(seed);
    }

    /**
     * @return {@code rte_rand()} on the calling thread's state (advances it)
     * @throws IllegalStateException if EAL is not running
     */
    public static long rand() {
        Eal.require();
        return io.jvhost.internal.NativeRand.rand();
    }

    /**
     * @return the index of the {@code rte_rand()} state the calling thread draws from: its lcore id
     *     or, for a thread without one, the main lcore's (DPDK 22.11)
     * @throws IllegalStateException if EAL is not running
     */
    public static int randStateIndex() {
        Eal.require();
        return io.jvhost.internal.NativeRand.randStateIndex();
    }

    /**
     * @return RTE_MAX_LCORE of the DPDK build (the number of {@code rte_rand()} states)
     */
    public static int maxLcore() {
        io.jvhost.Jvhost.loadNativeLibrary();
        return io.jvhost.internal.NativeRand.maxLcore();
    }

    @Override
    public String toString() {
        return "NativeIotlb[" + name + ", " + queues + " queue(s)" + (isOpen() ? "]" : ", closed]");
    }
}
