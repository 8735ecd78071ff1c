package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import io.jvhost.iotlb.IotlbDevice.MemoryRegion;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DPDK 22.11 vhost-user device driven by vhost-user messages through DPDK's own message handler
 * ({@code vhost_user_msg_handler}), so that the message level of the IOTLB
 * ({@code VHOST_USER_IOTLB_MSG}, the flushes of {@code SET_MEM_TABLE} and {@code GET_VRING_BASE})
 * is DPDK's, not a model. It is the native counterpart of {@link IotlbDevice}.
 *
 * <p>The device is made as DPDK makes one for a new connection (a vhost driver registered with
 * {@code RTE_VHOST_USER_IOMMU_SUPPORT} under a unique path, never started, so no socket file;
 * {@code vhost_new_device}; {@code vhost_setup_virtio_net} with IOMMU support). The constructor
 * then plays the frontend's part of the setup: {@code SET_FEATURES} (VIRTIO_F_IOMMU_PLATFORM,
 * VIRTIO_F_VERSION_1, VHOST_USER_F_PROTOCOL_FEATURES), {@code SET_PROTOCOL_FEATURES} (REPLY_ACK,
 * SLAVE_REQ) and {@code SET_SLAVE_REQ_FD} with one end of a socketpair; then {@code queues}
 * {@code SET_VRING_NUM} messages create the virtqueues. Messages are written to a socketpair and
 * handled synchronously on the calling thread. Guest memory is sparse memfds.
 *
 * <p>Thread-safe: messages are handled one at a time, as on a connection; {@link #close()}
 * ({@code vhost_destroy_device}) waits for calls in progress.
 * Needs EAL; owned by it.
 */
public final class NativeVhostDevice extends NativeIotlbHandle {
    /** {@code VHOST_USER_SET_FEATURES}. */
    public static final int SET_FEATURES = 2;
    /** {@code VHOST_USER_SET_MEM_TABLE}. */
    public static final int SET_MEM_TABLE = 5;
    /** {@code VHOST_USER_SET_VRING_NUM}. */
    public static final int SET_VRING_NUM = 8;
    /** {@code VHOST_USER_GET_VRING_BASE}. */
    public static final int GET_VRING_BASE = 11;
    /** {@code VHOST_USER_SET_PROTOCOL_FEATURES}. */
    public static final int SET_PROTOCOL_FEATURES = 16;
    /** {@code VHOST_USER_SET_SLAVE_REQ_FD}. */
    public static final int SET_SLAVE_REQ_FD = 21;
    /** {@code VHOST_USER_IOTLB_MSG}. */
    public static final int IOTLB_MSG = 22;

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long FEATURES = (1L << 33) | (1L << 32) | (1L << 30);
    private static final long PROTOCOL_FEATURES = (1L << 3) | (1L << 5);

    /** A region to create: guest physical address, QEMU's virtual address, size. */
    public record RegionSpec(long guestPhysAddr, long guestUserAddr, long size) {
    }

    /** DPDK's answer to a message. */
    public record Reply(int handlerResult, byte[] bytes) {
        /** @return the reply's u64 payload (REPLY_ACK: 0 = success), or -1 without a reply */
        public long u64() {
            if (bytes == null || bytes.length < BackendRequest.HEADER_BYTES + 8) {
                return -1;
            }
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(BackendRequest.HEADER_BYTES);
        }
    }

    private final Object messageLock = new Object();
    private final String path;
    private volatile int queues;

    /**
     * @param queues virtqueues to create (1 to 256)
     * @throws IllegalStateException if EAL is not running, or DPDK refuses the setup
     */
    public NativeVhostDevice(int queues) {
        this(checkQueues(queues), "jvhost-iotlb-device-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet());
    }

    private NativeVhostDevice(int queues, String path) {
        super(Eal.require(), io.jvhost.internal.NativeIotlb.createDevice(path));
        this.path = path;
        try {
            expectAck(send(SET_FEATURES, u64(FEATURES)), "SET_FEATURES");
            expectAck(send(SET_PROTOCOL_FEATURES, u64(PROTOCOL_FEATURES)), "SET_PROTOCOL_FEATURES");
            int slave;
            long h = acquire();
            try {
                slave = io.jvhost.internal.NativeIotlb.takeSlaveBackendFd(h);
            } finally {
                release();
            }
            try {
                expectAck(send(SET_SLAVE_REQ_FD, new byte[0], slave), "SET_SLAVE_REQ_FD");
            } finally {
                io.jvhost.internal.NativeIotlb.closeFd(slave);
            }
            for (int i = 0; i < queues; i++) {
                expectAck(send(SET_VRING_NUM, state(i, 256)), "SET_VRING_NUM");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public String name() {
        return path;
    }

    private static void expectAck(Reply r, String what) {
        if (r.u64() != 0) {
            throw new IllegalStateException("DPDK refused " + what + " (handler " + r.handlerResult() + ", ack "
                    + r.u64() + ")");
        }
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] state(int index, int num) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(index).putInt(num).array();
    }

    /**
     * Sends a message with NEED_REPLY and has DPDK handle it.
     *
     * @param request the request id
     * @param payload the payload
     * @param fds file descriptors of this process to pass along (DPDK receives copies)
     * @return DPDK's reply
     * @throws IllegalArgumentException if an fd is not open in this process, or more than DPDK
     *     takes in one message (8) are given
     */
    public Reply send(int request, byte[] payload, int... fds) {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(fds, "fds");
        if (fds.length > 8) { // VHOST_MEMORY_MAX_NREGIONS
            throw new IllegalArgumentException("at most 8 fds per message, not " + fds.length);
        }
        for (int fd : fds) {
            if (fd < 0 || !java.nio.file.Files.exists(java.nio.file.Path.of("/proc/self/fd/" + fd))) {
                throw new IllegalArgumentException("fd " + fd + " is not open in this process");
            }
        }
        ByteBuffer b = ByteBuffer.allocate(BackendRequest.HEADER_BYTES + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(request).putInt(BackendRequest.VERSION | BackendRequest.NEED_REPLY).putInt(payload.length).put(payload);
        int[] rc = new int[1];
        byte[] reply;
        // one message at a time, as on a vhost-user connection
        synchronized (messageLock) {
            long h = acquire();
            try {
                reply = io.jvhost.internal.NativeIotlb.request(h, b.array(), fds.length == 0 ? null : fds, rc);
                queues = io.jvhost.internal.NativeIotlb.nrVring(h);
            } finally {
                release();
            }
        }
        return new Reply(rc[0], reply);
    }

    @Override
    public int queueCount() {
        return queues;
    }

    /**
     * {@code VHOST_USER_SET_MEM_TABLE} with a sparse memfd per region (closed here once sent).
     *
     * @param regions at most 8
     * @return true if DPDK acknowledged it
     */
    public boolean setMemTable(List<RegionSpec> regions) {
        if (regions.size() > 8) {
            throw new IllegalArgumentException("at most 8 regions");
        }
        ByteBuffer b = ByteBuffer.allocate(8 + 32 * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(regions.size()).putInt(0);
        int[] fds = new int[regions.size()];
        try {
            for (int i = 0; i < regions.size(); i++) {
                RegionSpec r = regions.get(i);
                fds[i] = io.jvhost.internal.NativeIotlb.memfd("jvhost-guest-" + i, r.size());
                if (fds[i] < 0) {
                    throw new IllegalStateException("memfd of " + r.size() + " bytes: errno " + -fds[i]);
                }
                b.putLong(r.guestPhysAddr()).putLong(r.size()).putLong(r.guestUserAddr()).putLong(0);
            }
            return send(SET_MEM_TABLE, b.array(), fds).u64() == 0;
        } finally {
            for (int fd : fds) {
                io.jvhost.internal.NativeIotlb.closeFd(fd);
            }
        }
    }

    /** @return DPDK's memory table, with the addresses where DPDK mapped each region */
    public List<MemoryRegion> memTable() {
        long[] raw;
        long h = acquire();
        try {
            raw = io.jvhost.internal.NativeIotlb.memTable(h);
        } finally {
            release();
        }
        List<MemoryRegion> list = new ArrayList<>();
        for (int i = 0; i < raw.length; i += 4) {
            list.add(new MemoryRegion(raw[i], raw[i + 1], raw[i + 2], raw[i + 3]));
        }
        return list;
    }

    /**
     * {@code VHOST_USER_IOTLB_MSG}.
     *
     * @param msg an UPDATE, INVALIDATE or anything else
     * @return true if DPDK acknowledged it (REPLY_ACK 0)
     */
    public boolean iotlbMsg(VhostIotlbMsg msg) {
        return send(IOTLB_MSG, msg.encode()).u64() == 0;
    }

    /**
     * {@code VHOST_USER_GET_VRING_BASE}.
     *
     * @param vq the queue
     * @return the reply's ring index
     */
    public long getVringBase(int vq) {
        Reply r = send(GET_VRING_BASE, state(vq, 0));
        return r.bytes() == null ? -1
                : ByteBuffer.wrap(r.bytes()).order(ByteOrder.LITTLE_ENDIAN).getInt(BackendRequest.HEADER_BYTES + 4);
    }

    @Override
    public String toString() {
        return "NativeVhostDevice[" + path + ", " + queues + " queue(s)]";
    }
}
