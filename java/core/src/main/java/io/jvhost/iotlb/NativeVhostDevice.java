package io.jvhost.iotlb;

import io.jvhost.eal.Eal;
import io.jvhost.protocol.FeatureBit;
import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.Message;
import io.jvhost.protocol.MessageHeader;
import io.jvhost.protocol.ProtocolFeature;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.protocol.VirtioFeature;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long FEATURES = FeatureBit.maskOf(VirtioFeature.IOMMU_PLATFORM, VirtioFeature.VERSION_1,
            VirtioFeature.PROTOCOL_FEATURES);
    private static final long PROTOCOL_FEATURES = FeatureBit.maskOf(ProtocolFeature.REPLY_ACK,
            ProtocolFeature.BACKEND_REQ);

    /**
     * DPDK's answer to a message.
     *
     * @param request what was sent
     * @param handlerResult what {@code vhost_user_msg_handler} returned
     * @param bytes the reply DPDK wrote (header and payload), or null without one
     */
    public record Reply(FrontendRequest request, int handlerResult, byte[] bytes) {
        /** @return the reply's u64 payload (REPLY_ACK: 0 = success), or -1 without a reply */
        public long u64() {
            if (bytes == null || bytes.length < MessageHeader.BYTES + 8) {
                return -1;
            }
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(MessageHeader.BYTES);
        }

        /**
         * Whether DPDK took a message answered by an ack (REPLY_ACK): its handler did not fail and
         * the ack is 0. The ack alone does not say it: a handler that sends a reply of its own
         * (SET_MEM_TABLE while postcopy listens sends the region addresses) leaves no ack, and
         * then only its result tells a failure.
         *
         * @return whether the message was taken
         */
        public boolean accepted() {
            return handlerResult >= 0 && u64() == 0;
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
        super(Eal.require(), io.jvhost.internal.NativeIotlbDevice.createDevice(path));
        this.path = path;
        try {
            expectAck(send(FrontendRequest.SET_FEATURES, u64(FEATURES)));
            expectAck(send(FrontendRequest.SET_PROTOCOL_FEATURES, u64(PROTOCOL_FEATURES)));
            int slave;
            long h = acquire();
            try {
                slave = io.jvhost.internal.NativeIotlbDevice.takeSlaveBackendFd(h);
            } finally {
                release();
            }
            try {
                expectAck(send(FrontendRequest.SET_BACKEND_REQ_FD, new byte[0], slave));
            } finally {
                io.jvhost.internal.NativeIotlbDevice.closeFd(slave);
            }
            for (int i = 0; i < queues; i++) {
                expectAck(send(FrontendRequest.SET_VRING_NUM, state(i, 256)));
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

    private static void expectAck(Reply r) {
        if (!r.accepted()) {
            throw new IllegalStateException("DPDK refused " + r.request() + " (handler " + r.handlerResult() + ", ack "
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
     * Sends a message with NEED_REPLY and has DPDK handle it. Messages that carry file descriptors
     * (SET_MEM_TABLE, SET_BACKEND_REQ_FD, ...) go through the methods that make their descriptors
     * ({@link #setMemTable}): a descriptor of this process handed to DPDK as guest memory would
     * let DPDK write into this process's own memory.
     *
     * @param request the request
     * @param payload the payload, at most {@link MessageHeader#MAX_PAYLOAD} bytes
     * @return DPDK's reply
     */
    public Reply send(FrontendRequest request, byte[] payload) {
        return send(request, payload, new int[0]);
    }

    private Reply send(FrontendRequest request, byte[] payload, int... fds) {
        byte[] message = Message.of(request, MessageHeader.NEED_REPLY, Objects.requireNonNull(payload, "payload"))
                .toBytes();
        int handlerResult;
        byte[] reply;
        // one message at a time, as on a vhost-user connection
        synchronized (messageLock) {
            long h = acquire();
            try {
                handlerResult = io.jvhost.internal.NativeIotlbDevice.request(h, message, fds.length == 0 ? null : fds);
                reply = io.jvhost.internal.NativeIotlbDevice.readReply(h);
                queues = io.jvhost.internal.NativeIotlbDevice.nrVring(h);
            } finally {
                release();
            }
        }
        return new Reply(request, handlerResult, reply);
    }

    @Override
    public int queueCount() {
        return queues;
    }

    /**
     * {@code VHOST_USER_SET_MEM_TABLE} with a sparse memfd per region (closed here once sent).
     *
     * @param regions at most {@link MemoryRegion#MAX_REGIONS}: guest physical address, QEMU's
     *     address and size count (the backend maps the region where it likes)
     * @return true if DPDK acknowledged it
     */
    public boolean setMemTable(List<MemoryRegion> regions) {
        if (regions.size() > MemoryRegion.MAX_REGIONS) {
            throw new IllegalArgumentException("at most " + MemoryRegion.MAX_REGIONS + " regions");
        }
        ByteBuffer b = ByteBuffer.allocate(8 + MemoryRegion.WIRE_BYTES * MemoryRegion.MAX_REGIONS)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(regions.size()).putInt(0);
        int[] fds = new int[regions.size()];
        try {
            for (int i = 0; i < regions.size(); i++) {
                MemoryRegion r = regions.get(i);
                fds[i] = io.jvhost.internal.NativeIotlbDevice.memfd("jvhost-guest-" + i, r.size());
                if (fds[i] < 0) {
                    throw new IllegalStateException("memfd of " + r.size() + " bytes: errno " + -fds[i]);
                }
                b.putLong(r.guestPhysicalAddress()).putLong(r.size()).putLong(r.frontendAddress()).putLong(0);
            }
            return send(FrontendRequest.SET_MEM_TABLE, b.array(), fds).accepted();
        } finally {
            for (int fd : fds) {
                io.jvhost.internal.NativeIotlbDevice.closeFd(fd);
            }
        }
    }

    /**
     * @return DPDK's memory table, with where and how much DPDK mapped for each region
     */
    public List<MemoryRegion> memTable() {
        long h = acquire();
        try {
            return List.of(nativeMemTable(h));
        } finally {
            release();
        }
    }

    /**
     * {@code VHOST_USER_IOTLB_MSG}.
     *
     * @param msg an UPDATE, INVALIDATE or anything else
     * @return true if DPDK acknowledged it (REPLY_ACK 0)
     */
    public boolean iotlbMsg(VhostIotlbMsg msg) {
        return send(FrontendRequest.IOTLB_MSG, msg.toBytes()).accepted();
    }

    /**
     * {@code VHOST_USER_GET_VRING_BASE}.
     *
     * @param vq the queue
     * @return the reply's ring index
     */
    public long getVringBase(int vq) {
        Reply r = send(FrontendRequest.GET_VRING_BASE, state(vq, 0));
        return r.bytes() == null ? -1
                : ByteBuffer.wrap(r.bytes()).order(ByteOrder.LITTLE_ENDIAN).getInt(MessageHeader.BYTES + 4);
    }

    @Override
    public String toString() {
        return "NativeVhostDevice[" + path + ", " + queues + " queue(s)]";
    }

    /**
     * dev->mem as DPDK mapped it, built in native/iotlb_native_vhost_device.c from MemoryRegion's
     * constructor; empty before SET_MEM_TABLE.
     */
    private static native MemoryRegion[] nativeMemTable(long handle);
}
