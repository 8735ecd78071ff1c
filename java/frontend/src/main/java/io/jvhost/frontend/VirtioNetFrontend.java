package io.jvhost.frontend;

import io.jvhost.protocol.ProtocolFeature;
import io.jvhost.protocol.VirtioFeature;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A virtio-net device driven from Java over vhost-user: the frontend (QEMU's role) of a
 * vhost-user net backend such as DPDK's {@code net_vhost} or jvhost's own backend.
 *
 * <p>Build one with {@link #builder(Path)}; {@link Builder#open()} connects (or listens),
 * negotiates features and protocol features, passes the guest memory, sets up
 * {@link Builder#queuePairs(int) queue pairs} of split virtqueues (receive vring {@code 2q},
 * transmit vring {@code 2q+1}) and enables them. Then {@link #send} puts frames on a transmit
 * queue and {@link #receive} takes frames off a receive queue, both by polling (by default kick
 * and call use {@code VHOST_USER_VRING_NOFD_MASK} and the avail rings ask for no interrupts;
 * with {@link Builder#notifications(boolean)} they are real descriptors and
 * {@link #awaitReceive} sleeps until the backend signals).
 *
 * <p>With {@link Builder#packed(boolean)} the vrings are packed virtqueues (VIRTIO_F_RING_PACKED,
 * virtio 1.1 §2.7) instead: every buffer is one descriptor (also the receive buffers without
 * mergeable buffers: one contiguous buffer for a header and a whole frame).
 *
 * <p>Every frame travels with the 12-byte {@code virtio_net_hdr_mrg_rxbuf} (VIRTIO_F_VERSION_1 is
 * always negotiated). Receive buffers are, with mergeable buffers, single descriptors of
 * {@link Builder#rxBufferSize(int)} bytes (a frame may span several, announced by
 * {@code num_buffers}); without, chains of page-sized descriptors that hold a header plus
 * {@link Builder#maxFrameSize(int)} bytes.
 *
 * <p>With an {@link IommuMode IOMMU}, every ring and buffer is mapped in a {@link VirtualIommu} at
 * {@code IOVA = GPA + } {@link Builder#iovaOffset(long)} (rings and receive buffers RW, transmit
 * buffers RO) and the backend learns translations through the IOTLB protocol; see
 * {@link #iommu()} and its {@link VirtualIommu#log() log}.
 *
 * <p>Data path methods of one queue must be called from one thread at a time; different queues
 * may be used from different threads. They allocate nothing.
 */
public final class VirtioNetFrontend implements AutoCloseable {
    private static final Logger LOG = System.getLogger(VirtioNetFrontend.class.getName());
    /** Size of virtio_net_hdr_mrg_rxbuf (VERSION_1). */
    public static final int NET_HDR_SIZE = 12;

    /** Options for {@link VirtioNetFrontend}; {@link #open()} creates the device. */
    public static final class Builder {
        private final Path socket;
        private boolean listen;
        private int queuePairs = 1;
        private int ringSize = 256;
        private boolean mergeable = true;
        private IommuMode iommu = IommuMode.OFF;
        private Duration timeout = Duration.ofSeconds(5);
        private int rxBufferSize = 2048;
        private int maxFrameSize = 9216;
        private long regionSize = GuestMemory.MAX_REGION_SIZE;
        private long memorySize;
        private long iovaOffset = 0x10_0000_0000L;
        private long granule = GuestMemory.PAGE_SIZE;
        private boolean notifications;
        private boolean packed;

        private Builder(Path socket) {
            this.socket = Objects.requireNonNull(socket, "socket");
        }

        /**
         * @param listen true: create the socket and wait for a backend in client mode; false
         *        (default): connect to a backend in server mode
         * @return this
         */
        public Builder listen(boolean listen) {
            this.listen = listen;
            return this;
        }

        /**
         * @param n queue pairs (default 1; more needs VIRTIO_NET_F_MQ and the MQ protocol feature)
         * @return this
         */
        public Builder queuePairs(int n) {
            if (n < 1 || n > 128) {
                throw new IllegalArgumentException("queue pairs must be 1..128, got " + n);
            }
            this.queuePairs = n;
            return this;
        }

        /**
         * @param n descriptors per vring, a power of two (default 256)
         * @return this
         */
        public Builder ringSize(int n) {
            if (n < 8 || n > 32768 || Integer.bitCount(n) != 1) {
                throw new IllegalArgumentException("ring size must be a power of two in 8..32768, got " + n);
            }
            this.ringSize = n;
            return this;
        }

        /**
         * @param on negotiate VIRTIO_NET_F_MRG_RXBUF (default true)
         * @return this
         */
        public Builder mergeableRxBuffers(boolean on) {
            this.mergeable = on;
            return this;
        }

        /**
         * @param mode IOMMU use (default {@link IommuMode#OFF})
         * @return this
         */
        public Builder iommu(IommuMode mode) {
            this.iommu = Objects.requireNonNull(mode);
            return this;
        }

        /**
         * @param t bound for connecting and for every reply (default 5 s)
         * @return this
         */
        public Builder timeout(Duration t) {
            if (t.isNegative() || t.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = t;
            return this;
        }

        /**
         * @param n bytes per mergeable receive buffer: a power of two in 256..65536 (default 2048)
         * @return this
         */
        public Builder rxBufferSize(int n) {
            if (n < 256 || n > 65536 || Integer.bitCount(n) != 1) {
                throw new IllegalArgumentException("rx buffer size must be a power of two in 256..65536, got " + n);
            }
            this.rxBufferSize = n;
            return this;
        }

        /**
         * @param n largest frame (without virtio header) that can be sent, and received without
         *        mergeable buffers (default 9216)
         * @return this
         */
        public Builder maxFrameSize(int n) {
            if (n < 60 || n > 65535 - NET_HDR_SIZE) {
                throw new IllegalArgumentException("max frame size must be 60..65523, got " + n);
            }
            this.maxFrameSize = n;
            return this;
        }

        /**
         * @param bytes size of each guest memory region (multiple of 2 MiB, at most 1 GiB; default
         *        1 GiB). Smaller values give several regions.
         * @return this
         */
        public Builder regionSize(long bytes) {
            this.regionSize = bytes;
            return this;
        }

        /**
         * @param bytes guest memory size (default: what rings and buffers need, plus 2 MiB)
         * @return this
         */
        public Builder memorySize(long bytes) {
            this.memorySize = bytes;
            return this;
        }

        /**
         * @param offset IOVA = GPA + offset for the IOMMU mappings (page-aligned; default 64 GiB)
         * @return this
         */
        public Builder iovaOffset(long offset) {
            if (offset % GuestMemory.PAGE_SIZE != 0) {
                throw new IllegalArgumentException("IOVA offset must be page-aligned");
            }
            this.iovaOffset = offset;
            return this;
        }

        /**
         * @param bytes IOTLB granule: bytes per UPDATE (power of two >= 4096; 0 = whole mappings;
         *        default 4096)
         * @return this
         */
        public Builder iotlbGranule(long bytes) {
            this.granule = bytes;
            return this;
        }

        /**
         * @param on pass real kick and call descriptors (connected Unix sockets standing in for
         *        eventfds) instead of VHOST_USER_VRING_NOFD_MASK; receive rings then ask the
         *        backend for interrupts, which {@link VirtioNetFrontend#awaitReceive} waits on,
         *        and {@link VirtioNetFrontend#send} kicks when the backend wants kicks (default
         *        false: both sides poll)
         * @return this
         */
        public Builder notifications(boolean on) {
            this.notifications = on;
            return this;
        }

        /**
         * @param on negotiate VIRTIO_F_RING_PACKED and use packed virtqueues (default false: split)
         * @return this
         */
        public Builder packed(boolean on) {
            this.packed = on;
            return this;
        }

        /**
         * Creates the memory, connects and sets the device up.
         *
         * @return the running device
         * @throws VhostUserException if the backend cannot be reached, lacks a needed feature, or
         *         rejects a request
         */
        public VirtioNetFrontend open() throws VhostUserException {
            return new VirtioNetFrontend(this);
        }
    }

    /**
     * Where the backend will write next on a receive queue: the first descriptor of the next
     * buffer (or chain) in the available ring.
     *
     * @param deviceAddr the address in the descriptor (IOVA with the IOMMU on, else GPA)
     * @param gpa guest physical address
     * @param length bytes of that descriptor
     */
    public record RxBuffer(long deviceAddr, long gpa, int length) {
    }

    private final Builder cfg;
    private final GuestMemory memory;
    private final VirtualIommu iommu;
    private final VhostUserConnection conn;
    private final DeviceAddresses addresses;
    private final TxRing[] tx;
    private final RxRing[] rx;
    private final long features;
    private final long protocolFeatures;
    private final int txSlotSize;
    private final VringNotifier[] notifiers;
    private volatile boolean closed;

    private VirtioNetFrontend(Builder b) throws VhostUserException {
        this.cfg = b;
        int slot = DeviceAddresses.roundPage(NET_HDR_SIZE + b.maxFrameSize);
        this.txSlotSize = slot;
        long need = b.memorySize;
        if (need == 0) {
            long perQueue = 5L * DeviceAddresses.roundPage(16L * b.ringSize) + (long) b.ringSize * slot
                    + (b.mergeable ? (long) b.ringSize * Math.max(b.rxBufferSize, GuestMemory.PAGE_SIZE)
                            : (long) b.ringSize * GuestMemory.PAGE_SIZE);
            need = b.queuePairs * perQueue + (2L << 20);
            need = (need + (2L << 20) - 1) & -(2L << 20);
        }
        GuestMemory mem;
        try {
            mem = GuestMemory.create(need, Math.min(b.regionSize, Math.max(2L << 20, b.regionSize)));
        } catch (java.io.IOException e) {
            throw new VhostUserException("cannot create guest memory of " + need + " bytes: " + e.getMessage(), e);
        }
        this.memory = mem;
        this.iommu = b.iommu.enabled() ? new VirtualIommu(mem, b.granule) : null;
        this.addresses = new DeviceAddresses(mem, iommu, b.iovaOffset);
        this.tx = new TxRing[b.queuePairs];
        this.rx = new RxRing[b.queuePairs];
        this.notifiers = new VringNotifier[b.notifications ? 2 * b.queuePairs : 0];
        VhostUserConnection c = null;
        try {
            for (int i = 0; i < notifiers.length; i++) {
                try {
                    notifiers[i] = VringNotifier.open(i, b.timeout.toNanos());
                } catch (java.io.IOException e) {
                    throw new VhostUserException("cannot create kick/call sockets for vring " + i, e);
                }
            }
            for (int q = 0; q < b.queuePairs; q++) {
                if (b.packed) {
                    rx[q] = new PackedRxQueue(mem, addresses, 2 * q, b.ringSize, b.mergeable, b.rxBufferSize, b.maxFrameSize);
                    tx[q] = new PackedTxQueue(mem, addresses, 2 * q + 1, b.ringSize, txSlotSize);
                } else {
                    rx[q] = new RxQueue(mem, addresses, 2 * q, b.ringSize, b.mergeable, b.rxBufferSize, b.maxFrameSize);
                    tx[q] = new TxQueue(mem, addresses, 2 * q + 1, b.ringSize, txSlotSize);
                }
            }
            c = b.listen ? VhostUserConnection.accept(b.socket, b.timeout) : VhostUserConnection.connect(b.socket, b.timeout);
            long[] negotiated = negotiate(c);
            this.features = negotiated[0];
            this.protocolFeatures = negotiated[1];
            this.conn = c;
            start();
        } catch (VhostUserException | RuntimeException e) {
            if (c != null) {
                c.close();
            }
            closeNotifiers();
            mem.close();
            throw e;
        }
    }

    /**
     * @param socket path of the vhost-user socket
     * @return a builder with defaults: connect, 1 queue pair, ring 256, mergeable buffers, no IOMMU
     */
    public static Builder builder(Path socket) {
        return new Builder(socket);
    }

    private long[] negotiate(VhostUserConnection c) throws VhostUserException {
        long offered = c.getFeatures();
        long want = VirtioFeature.VERSION_1.mask();
        if (cfg.mergeable) {
            want |= VirtioFeature.NET_MRG_RXBUF.mask();
        }
        if (cfg.iommu.enabled()) {
            want |= VirtioFeature.IOMMU_PLATFORM.mask();
        }
        if (cfg.queuePairs > 1) {
            want |= VirtioFeature.NET_MQ.mask();
        }
        if (cfg.packed) {
            want |= VirtioFeature.RING_PACKED.mask();
        }
        long missing = want & ~offered;
        if (missing != 0) {
            throw new VhostUserException("backend does not offer virtio features " + bits(missing) + " (offered 0x"
                    + Long.toHexString(offered) + ")");
        }
        long acked = want;
        long pf = 0;
        if (VirtioFeature.PROTOCOL_FEATURES.isIn(offered)) {
            acked |= VirtioFeature.PROTOCOL_FEATURES.mask();
            long offeredPf = c.getProtocolFeatures();
            long wantPf = ProtocolFeature.REPLY_ACK.mask();
            if (cfg.queuePairs > 1) {
                wantPf |= ProtocolFeature.MQ.mask();
            }
            if (cfg.iommu.enabled()) {
                wantPf |= ProtocolFeature.BACKEND_REQ.mask();
            }
            pf = offeredPf & wantPf;
            // QEMU enables the IOMMU path only with REPLY_ACK and the backend-request channel
            long needPf = cfg.iommu.enabled()
                    ? ProtocolFeature.REPLY_ACK.mask() | ProtocolFeature.BACKEND_REQ.mask() : 0;
            if (cfg.queuePairs > 1) {
                needPf |= ProtocolFeature.MQ.mask();
            }
            if ((needPf & ~offeredPf) != 0) {
                throw new VhostUserException("backend does not offer protocol features " + bits(needPf & ~offeredPf)
                        + " (offered 0x" + Long.toHexString(offeredPf) + ")");
            }
            c.setProtocolFeatures(pf);
            if (cfg.queuePairs > 1) {
                long qn = c.getQueueNum();
                if (qn < cfg.queuePairs) {
                    throw new VhostUserException("backend supports " + qn + " queue pairs, " + cfg.queuePairs + " wanted");
                }
            }
        } else if (cfg.iommu.enabled() || cfg.queuePairs > 1) {
            throw new VhostUserException("backend offers no protocol features; IOMMU and multiqueue need them");
        }
        if (iommu != null) {
            iommu.attach(c);
            c.openBackendChannel(iommu);
        }
        c.setOwner();
        c.setFeatures(acked);
        return new long[] {acked, pf};
    }

    private void start() throws VhostUserException {
        conn.setMemTable(memory);
        List<Vring> all = new ArrayList<>();
        for (int q = 0; q < cfg.queuePairs; q++) {
            all.add(rx[q].vring());
            all.add(tx[q].vring());
        }
        if (notifiers.length > 0) {
            for (int q = 0; q < cfg.queuePairs; q++) {
                rx[q].vring().askInterrupts();
            }
        }
        for (Vring vq : all) {
            int index = vq.index();
            conn.setVringNum(index, vq.size());
            // packed: avail index and wrap counter (bit 15, starting at 1), as vhost-user specifies
            conn.setVringBase(index, vq.initialBase());
            conn.setVringAddr(index, addresses.ring(vq.descGpa()), addresses.ring(vq.deviceGpa()), addresses.ring(vq.driverGpa()));
            VringNotifier n = notifiers.length > 0 ? notifiers[index] : null;
            try {
                conn.setVringKick(index, n == null ? null : n.kickFd());
                conn.setVringCall(index, n == null ? null : n.callFd());
            } catch (VhostUserException e) {
                throw e;
            } catch (java.io.IOException e) {
                throw new VhostUserException("cannot pass kick/call descriptors of vring " + index, e);
            }
        }
        if (cfg.iommu == IommuMode.QEMU) {
            // QEMU pre-sends the used ring, for packed rings the device event area (its "used" address)
            for (Vring vq : all) {
                iommu.update(addresses.dev(vq.deviceGpa()), DeviceAddresses.roundPage(vq.deviceBytes()), IotlbLog.Cause.PRESEND_USED_RING);
            }
        } else if (cfg.iommu == IommuMode.EAGER) {
            iommu.updateAll();
        }
        if (VirtioFeature.PROTOCOL_FEATURES.isIn(features)) {
            for (Vring vq : all) {
                conn.setVringEnable(vq.index(), true);
            }
        }
    }

    private static String bits(long mask) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < 64; i++) {
            if ((mask & (1L << i)) != 0) {
                sb.append(sb.length() > 1 ? "," : "").append(i);
            }
        }
        return sb.append('}').toString();
    }

    /** @return the number of queue pairs */
    public int queuePairs() {
        return cfg.queuePairs;
    }

    /** @return the virtio features acked with SET_FEATURES */
    public long features() {
        return features;
    }

    /** @return the protocol features acked with SET_PROTOCOL_FEATURES */
    public long protocolFeatures() {
        return protocolFeatures;
    }

    /** @return whether mergeable receive buffers are in use */
    public boolean mergeableRxBuffers() {
        return cfg.mergeable;
    }

    /** @return whether the vrings are packed virtqueues */
    public boolean packed() {
        return cfg.packed;
    }

    /** @return the IOMMU mode */
    public IommuMode iommuMode() {
        return cfg.iommu;
    }

    /** @return the virtual IOMMU, or null when {@link IommuMode#OFF} */
    public VirtualIommu iommu() {
        return iommu;
    }

    /** @return the guest memory */
    public GuestMemory memory() {
        return memory;
    }

    /** @return the vhost-user connection */
    public VhostUserConnection connection() {
        return conn;
    }

    /** @return largest frame {@link #send} accepts */
    public int maxFrameSize() {
        return cfg.maxFrameSize;
    }

    /**
     * @param vringIndex 2q (receive) or 2q+1 (transmit)
     * @return where that vring and its buffers are
     */
    public VringLayout layout(int vringIndex) {
        int q = vringIndex / 2;
        checkQueue(q);
        return vringIndex % 2 == 0 ? rx[q].layout() : tx[q].layout();
    }

    private void checkQueue(int q) {
        if (q < 0 || q >= cfg.queuePairs) {
            throw new IndexOutOfBoundsException("queue pair " + q + " (have " + cfg.queuePairs + ")");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("device is closed");
        }
    }

    /**
     * Puts one frame on transmit queue {@code q} (with a zeroed virtio-net header).
     *
     * @param q queue pair
     * @param frame the frame bytes
     * @param off offset in {@code frame}
     * @param len frame length, 1..{@link #maxFrameSize()}
     * @return false if the ring is full (the backend has not consumed enough yet)
     */
    public boolean send(int q, byte[] frame, int off, int len) {
        Objects.checkFromIndexSize(off, len, frame.length);
        int id = txSlot(q, len);
        if (id < 0) {
            return false;
        }
        long gpa = tx[q].slotGpa(id);
        memory.bufferOf(gpa, NET_HDR_SIZE + len).put(memory.offsetOf(gpa) + NET_HDR_SIZE, frame, off, len);
        txPublish(q, id, len);
        return true;
    }

    /**
     * Puts the remaining bytes of {@code frame} on transmit queue {@code q}; the buffer's position
     * does not move.
     *
     * @param q queue pair
     * @param frame the frame
     * @return false if the ring is full
     */
    public boolean send(int q, ByteBuffer frame) {
        int len = frame.remaining();
        int id = txSlot(q, len);
        if (id < 0) {
            return false;
        }
        long gpa = tx[q].slotGpa(id);
        memory.bufferOf(gpa, NET_HDR_SIZE + len).put(memory.offsetOf(gpa) + NET_HDR_SIZE, frame, frame.position(), len);
        txPublish(q, id, len);
        return true;
    }

    private int txSlot(int q, int len) {
        checkOpen();
        checkQueue(q);
        if (len < 1 || len > cfg.maxFrameSize) {
            throw new IllegalArgumentException("frame length " + len + " outside 1.." + cfg.maxFrameSize);
        }
        return tx[q].take();
    }

    private void txPublish(int q, int id, int len) {
        tx[q].publish(id, len, notifiers.length > 0 ? notifiers[tx[q].vring().index()] : null);
    }

    /**
     * @param q queue pair
     * @return frames put on transmit queue {@code q} that the backend has not consumed yet
     */
    public int txInFlight(int q) {
        checkOpen();
        checkQueue(q);
        return tx[q].inFlight();
    }

    /**
     * Takes one received frame (without virtio header) off receive queue {@code q}.
     *
     * @param q queue pair
     * @param dst where the frame goes, from its position; the position advances by the length
     * @return the frame length, or -1 if none is waiting
     * @throws IllegalArgumentException if {@code dst} has less room than the frame (the frame
     *         stays queued)
     */
    public int receive(int q, ByteBuffer dst) {
        int len = rxPeek(q);
        if (len < 0) {
            return -1;
        }
        if (dst.remaining() < len) {
            throw new IllegalArgumentException("frame of " + len + " bytes does not fit in " + dst.remaining());
        }
        rx[q].take(dst, null, 0);
        return len;
    }

    /**
     * Takes one received frame (without virtio header) off receive queue {@code q}.
     *
     * @param q queue pair
     * @param dst where the frame goes, from index 0
     * @return the frame length, or -1 if none is waiting
     * @throws IllegalArgumentException if {@code dst} is shorter than the frame (the frame stays
     *         queued)
     */
    public int receive(int q, byte[] dst) {
        int len = rxPeek(q);
        if (len < 0) {
            return -1;
        }
        if (dst.length < len) {
            throw new IllegalArgumentException("frame of " + len + " bytes does not fit in " + dst.length);
        }
        rx[q].take(null, dst, 0);
        return len;
    }

    /** Frame length of the next complete received frame, or -1. */
    private int rxPeek(int q) {
        checkOpen();
        checkQueue(q);
        return rx[q].peek();
    }

    /**
     * Waits until a frame is waiting on receive queue {@code q}: on the backend's call descriptor
     * with {@link Builder#notifications(boolean) notifications}, else by polling every 50 µs.
     *
     * @param q queue pair
     * @param timeout how long at most
     * @return true if a frame is waiting ({@link #receive} will return it)
     * @throws VhostUserException if the call descriptor fails
     */
    public boolean awaitReceive(int q, Duration timeout) throws VhostUserException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (rxPeek(q) >= 0) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            if (notifiers.length > 0) {
                try {
                    notifiers[2 * q].awaitCall(left);
                } catch (java.io.IOException e) {
                    throw new VhostUserException("waiting on the call descriptor of vring " + 2 * q + ": " + e.getMessage(), e);
                }
            } else {
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(left, 50_000));
            }
        }
    }

    /** @return whether kick and call are real descriptors */
    public boolean notifications() {
        return notifiers.length > 0;
    }

    /**
     * Where the backend will write the next frame on receive queue {@code q}; meaningful when all
     * received frames have been taken.
     *
     * @param q queue pair
     * @return the first descriptor of the next receive buffer
     */
    public RxBuffer nextRxBuffer(int q) {
        checkOpen();
        checkQueue(q);
        RxRing r = rx[q];
        int head = r.nextHead();
        return new RxBuffer(addresses.dev(r.descGpa(head)), r.descGpa(head), r.descLen(head));
    }

    // --- inspection for tests (package-private) ---

    /** {id, len} of the used element at free-running position {@code pos} of a vring. */
    int[] usedElement(int vringIndex, int pos) {
        return vring(vringIndex).usedElement(pos);
    }

    /** Used elements consumed so far (free-running) on a vring. */
    int usedConsumed(int vringIndex) {
        return vring(vringIndex).usedConsumed();
    }

    private Vring vring(int vringIndex) {
        int q = vringIndex / 2;
        checkQueue(q);
        return vringIndex % 2 == 0 ? rx[q].vring() : tx[q].vring();
    }

    /** Wake-ups on the call descriptor of a vring (notifications on). */
    long callsSeen(int vringIndex) {
        return notifiers[vringIndex].callsSeen();
    }

    /** Device address of transmit slot {@code id} of queue pair {@code q}. */
    long txSlotAddr(int q, int id) {
        return addresses.dev(tx[q].slotGpa(id));
    }

    /** Device addresses of the descriptors of the receive buffer (chain) with head {@code id}. */
    long[] rxBufferAddrs(int q, int head) {
        RxRing r = rx[q];
        long[] out = new long[r.chainLen()];
        for (int k = 0; k < out.length; k++) {
            out[k] = addresses.dev(r.descGpa(head + k));
        }
        return out;
    }

    /** Bytes of each receive descriptor of queue pair {@code q}. */
    int rxDescLen(int q) {
        return rx[q].descLen(0);
    }

    /**
     * Stops the rings (SET_VRING_ENABLE 0 and GET_VRING_BASE for each, as QEMU does when it stops
     * a device), closes the connection and the memory. Errors on the way are logged; close never
     * throws.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (!conn.isClosed() && conn.backendChannelFailure() == null) {
                for (int q = 0; q < cfg.queuePairs; q++) {
                    for (int i : new int[] {2 * q, 2 * q + 1}) {
                        if (VirtioFeature.PROTOCOL_FEATURES.isIn(features)) {
                            conn.setVringEnable(i, false);
                        }
                        conn.getVringBase(i);
                    }
                }
            }
        } catch (VhostUserException e) {
            LOG.log(Level.WARNING, "stopping the rings failed: " + e.getMessage());
        } finally {
            conn.close();
            closeNotifiers();
            memory.close();
        }
    }

    private void closeNotifiers() {
        for (VringNotifier n : notifiers) {
            if (n != null) {
                n.close();
            }
        }
    }
}
