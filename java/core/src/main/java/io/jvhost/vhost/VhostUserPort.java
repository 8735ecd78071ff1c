package io.jvhost.vhost;

import io.jvhost.eal.Eal;
import io.jvhost.internal.EalOwnership;
import io.jvhost.internal.NativeLog;
import io.jvhost.internal.NativeVhost;
import io.jvhost.protocol.VirtioFeature;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A vhost-user port: a Unix socket that a frontend (QEMU, DPDK's virtio-user) connects to, served
 * by librte_vhost. Made with {@link #builder(Path)}; each connected frontend shows up as a
 * {@link VhostDevice}.
 *
 * <pre>{@code
 * try (VhostUserPort port = VhostUserPort.builder(Path.of("/tmp/vhost0.sock"))
 *         .iommu(true).listener(myListener).open()) {
 *     VhostDevice dev = port.awaitDevice(Duration.ofSeconds(10));
 *     ...
 * }
 * }</pre>
 *
 * <p>{@link #close()} unregisters the socket ({@code rte_vhost_driver_unregister}). DPDK 22.11
 * does not refuse this while a frontend is connected (no {@code -EBUSY}, unlike the documentation
 * of some versions): it closes the connection and destroys the device, calling
 * {@link VhostListener#destroyDevice} on the closing thread, then removes the socket file (server
 * mode). A port may not be closed from its own listener: DPDK would wait for itself.
 *
 * <p>Thread-safe. Ports are owned by the running EAL: closing EAL closes them first.
 */
public final class VhostUserPort implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostUserPort.class.getName());
    /** Logged when a frontend negotiated features, sent no memory table, and left. */
    static final String NO_MEMORY_TABLE = "frontend on {0} left without sending its memory table"
            + " (VHOST_USER_SET_MEM_TABLE), so the device never started. A DPDK virtio-user frontend on"
            + " hugepages does this when its memory spans more than 8 regions (DPDK's limit; its log says"
            + " \"Too many memory regions\"): start it with --single-file-segments, or --no-huge";
    /** sun_path holds 108 bytes, the terminating NUL included; DPDK would truncate silently. */
    private static final int MAX_SOCKET_PATH = 107;

    static final Map<String, VhostUserPort> PORTS = new ConcurrentHashMap<>();
    static final VhostDevice[] DEVICES = new VhostDevice[1024]; // RTE_MAX_VHOST_DEVICE; guarded by DEVICES
    /** Set while a listener runs on the current thread; view calls check it. */
    static final ThreadLocal<Boolean> IN_LOCKED_CALLBACK = ThreadLocal.withInitial(() -> false);
    static final ThreadLocal<Boolean> IN_CALLBACK = ThreadLocal.withInitial(() -> false);

    static {
        NativeVhost.setEvents(new Dispatcher());
    }

    private final Eal eal;
    private final Path socket;
    private final String path;
    private final boolean client;
    private final long flags;
    private final int maxQueuePairs;
    private final boolean guestNotifications;
    private final VhostListener listener;
    private final Map<Integer, VhostDevice> devices = new ConcurrentHashMap<>();
    private volatile VhostDevice current;
    private volatile boolean open = true;

    private VhostUserPort(Builder b, Eal eal, String path) {
        this.eal = eal;
        this.socket = b.socket;
        this.path = path;
        this.client = b.client;
        this.flags = b.flags();
        this.maxQueuePairs = b.maxQueuePairs;
        this.guestNotifications = b.guestNotifications;
        this.listener = b.listener;
    }

    /**
     * @param socket the Unix socket path: created in server mode (its directory must exist, the
     *     file must not), connected to in client mode
     * @return a builder
     */
    public static Builder builder(Path socket) {
        return new Builder(Objects.requireNonNull(socket, "socket"));
    }

    /** @return the socket path */
    public Path socket() {
        return socket;
    }

    /** @return whether jvhost connects to the frontend (client mode) instead of listening */
    public boolean isClient() {
        return client;
    }

    /** @return the RTE_VHOST_USER_* flags it was registered with */
    public long flags() {
        return flags;
    }

    /** @return the most queue pairs a frontend may use */
    public int maxQueuePairs() {
        return maxQueuePairs;
    }

    /** @return whether the port is open */
    public boolean isOpen() {
        return open;
    }

    /** @return the live devices (one per connected, running frontend) */
    public List<VhostDevice> devices() {
        return List.copyOf(devices.values());
    }

    /**
     * The most recent live device, without allocating: for data-path loops that serve one frontend
     * per port.
     *
     * @return it, or null if no frontend runs a device now
     */
    public VhostDevice currentDevice() {
        return current;
    }

    /**
     * @param vid DPDK's device id
     * @return the live device of that connection, if running
     */
    public Optional<VhostDevice> device(int vid) {
        return Optional.ofNullable(devices.get(vid));
    }

    /**
     * Waits for a live device.
     *
     * @param timeout how long at most
     * @return the first live device
     * @throws InterruptedException if interrupted
     * @throws IllegalStateException if none came in time, or the port closed
     */
    public VhostDevice awaitDevice(java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (devices) {
            while (true) {
                for (VhostDevice d : devices.values()) {
                    if (d.isAlive()) {
                        return d;
                    }
                }
                long left = deadline - System.nanoTime();
                if (!open || left <= 0) {
                    throw new IllegalStateException(open ? "no frontend set up a device on " + socket + " within " + timeout
                            : "port " + socket + " is closed");
                }
                devices.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    /** @return the features the port offers (rte_vhost_driver_get_features) */
    public long features() {
        ensureOpen();
        return NativeVhost.driverGetFeatures(path);
    }

    /** @return the protocol features the port offers */
    public long protocolFeatures() {
        ensureOpen();
        return NativeVhost.driverGetProtocolFeatures(path);
    }

    private void ensureOpen() {
        if (!open) {
            throw new IllegalStateException("vhost-user port " + socket + " is closed");
        }
    }

    /**
     * Unregisters the socket: destroys the live devices (their listeners' destroyDevice runs on
     * this thread) and removes the socket file in server mode. Idempotent.
     *
     * @throws IllegalStateException if called from one of this port's listeners
     */
    @Override
    public void close() {
        if (IN_CALLBACK.get()) {
            throw new IllegalStateException("a vhost-user port cannot be closed from a device callback:"
                    + " DPDK's vhost-events thread would wait for itself");
        }
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        int rc;
        List<String> log;
        try (NativeLog.Capture capture = NativeLog.capture(Thread.currentThread())) {
            rc = NativeVhost.driverUnregister(path);
            log = capture.lines();
        }
        PORTS.remove(path, this);
        synchronized (devices) {
            devices.notifyAll();
        }
        EalOwnership.disown(eal, this);
        if (rc != 0) {
            throw new VhostException("rte_vhost_driver_unregister(" + path + ") failed (" + rc + ")", log);
        }
    }

    @Override
    public String toString() {
        return "VhostUserPort[" + socket + (client ? ", client" : ", server") + (open ? "" : ", closed") + "]";
    }

    void deviceAdded(VhostDevice d) {
        synchronized (devices) {
            devices.put(d.vid(), d);
            current = d;
            devices.notifyAll();
        }
    }

    void deviceRemoved(VhostDevice d) {
        synchronized (devices) {
            devices.remove(d.vid(), d);
            if (current == d) {
                current = devices.values().stream().filter(VhostDevice::isAlive).findFirst().orElse(null);
            }
            devices.notifyAll();
        }
    }

    VhostListener listener() {
        return listener;
    }

    /** Builds and opens a {@link VhostUserPort}. */
    public static final class Builder {
        private final Path socket;
        private boolean client;
        private boolean reconnect = true;
        private boolean iommu;
        private boolean postcopy;
        private boolean linearBuffers;
        private boolean externalBuffers;
        private boolean netCompliantOffloads;
        private boolean stats = true;
        private Long features;
        private long enable;
        private long disable;
        private Long protocolFeatures;
        private int maxQueuePairs = 1;
        private boolean guestNotifications;
        private VhostListener listener = new VhostListener() { };

        private Builder(Path socket) {
            this.socket = socket;
        }

        /**
         * @param client connect to the frontend (which listens, e.g. QEMU's {@code server=on}) instead
         *     of listening; RTE_VHOST_USER_CLIENT
         * @return this
         */
        public Builder client(boolean client) {
            this.client = client;
            return this;
        }

        /**
         * @param reconnect in client mode, keep reconnecting when the frontend goes away (default);
         *     false sets RTE_VHOST_USER_NO_RECONNECT
         * @return this
         */
        public Builder reconnect(boolean reconnect) {
            this.reconnect = reconnect;
            return this;
        }

        /**
         * Offers VIRTIO_F_IOMMU_PLATFORM: the vIOMMU / IOTLB path (RTE_VHOST_USER_IOMMU_SUPPORT).
         * With it, the port does not offer packed virtqueues (VIRTIO_F_RING_PACKED) unless
         * {@link #features} or {@link #enableFeatures} name them: DPDK 22.11 drops, without
         * counting them, the packed-ring frames whose buffers miss in the IOTLB, while split rings
         * wait for the frontend's UPDATE and lose nothing (docs/guests.md). Frontends then fall back
         * to split rings.
         *
         * @param iommu offer the vIOMMU path
         * @return this
         */
        public Builder iommu(boolean iommu) {
            this.iommu = iommu;
            return this;
        }

        /**
         * @param postcopy offer postcopy live migration (RTE_VHOST_USER_POSTCOPY_SUPPORT)
         * @return this
         */
        public Builder postcopy(boolean postcopy) {
            this.postcopy = postcopy;
            return this;
        }

        /**
         * @param linearBuffers dequeue every packet into one mbuf, never a chain
         *     (RTE_VHOST_USER_LINEARBUF_SUPPORT; needs mbufs large enough)
         * @return this
         */
        public Builder linearBuffers(boolean linearBuffers) {
            this.linearBuffers = linearBuffers;
            return this;
        }

        /**
         * @param externalBuffers let DPDK attach external buffers to mbufs for large packets
         *     (RTE_VHOST_USER_EXTBUF_SUPPORT)
         * @return this
         */
        public Builder externalBuffers(boolean externalBuffers) {
            this.externalBuffers = externalBuffers;
            return this;
        }

        /**
         * @param compliant use the ethdev-compliant offload flags (RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS)
         * @return this
         */
        public Builder netCompliantOffloads(boolean compliant) {
            this.netCompliantOffloads = compliant;
            return this;
        }

        /**
         * @param stats keep per-vring statistics, IOTLB hits and misses included
         *     (RTE_VHOST_USER_NET_STATS_ENABLE; on by default)
         * @return this
         */
        public Builder stats(boolean stats) {
            this.stats = stats;
            return this;
        }

        /**
         * @param features exactly the virtio features to offer (rte_vhost_driver_set_features)
         * @return this
         */
        public Builder features(long features) {
            this.features = features;
            return this;
        }

        /**
         * @param mask features to offer in addition (rte_vhost_driver_enable_features)
         * @return this
         */
        public Builder enableFeatures(long mask) {
            this.enable |= mask;
            return this;
        }

        /**
         * @param mask features not to offer (rte_vhost_driver_disable_features), e.g.
         *     {@code VirtioFeature.NET_MRG_RXBUF.mask()}
         * @return this
         */
        public Builder disableFeatures(long mask) {
            this.disable |= mask;
            return this;
        }

        /**
         * @param protocolFeatures exactly the vhost-user protocol features to offer
         * @return this
         */
        public Builder protocolFeatures(long protocolFeatures) {
            this.protocolFeatures = protocolFeatures;
            return this;
        }

        /**
         * The queue pairs jvhost serves (default 1). With 1, VIRTIO_NET_F_MQ is not offered, so a
         * frontend cannot set up more. With more, DPDK 22.11 lets a frontend set up to 128 (it has no
         * per-socket limit); vrings past {@code 2n} are not served by this API.
         *
         * @param n queue pairs, 1 to 128
         * @return this
         */
        public Builder maxQueuePairs(int n) {
            if (n < 1 || n > 128) {
                throw new IllegalArgumentException("queue pairs must be 1..128: " + n);
            }
            this.maxQueuePairs = n;
            return this;
        }

        /**
         * Whether frontends should kick (notify) when they add buffers. Off by default, as in
         * DPDK's {@code net_vhost}: jvhost polls its vrings, and a kick costs the frontend a system
         * call per burst. When off, every
         * vring of a new device gets VRING_USED_F_NO_NOTIFY before {@link VhostListener#newDevice}
         * runs; {@link VhostDevice#guestNotifications} changes it per vring.
         *
         * @param on ask frontends to kick
         * @return this
         */
        public Builder guestNotifications(boolean on) {
            this.guestNotifications = on;
            return this;
        }

        /**
         * @param listener receives device events
         * @return this
         */
        public Builder listener(VhostListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        long flags() {
            long f = 0;
            if (client) {
                f |= 1L; // RTE_VHOST_USER_CLIENT
                if (!reconnect) {
                    f |= 1L << 1; // RTE_VHOST_USER_NO_RECONNECT
                }
            }
            if (iommu) {
                f |= 1L << 3;
            }
            if (postcopy) {
                f |= 1L << 4;
            }
            if (externalBuffers) {
                f |= 1L << 5;
            }
            if (linearBuffers) {
                f |= 1L << 6;
            }
            if (netCompliantOffloads) {
                f |= 1L << 8;
            }
            if (stats) {
                f |= 1L << 9;
            }
            return f;
        }

        /**
         * Registers the socket with librte_vhost, applies the features, and starts serving it.
         *
         * @return the open port
         * @throws IllegalArgumentException for a socket path DPDK cannot use
         * @throws IllegalStateException if EAL is not running or the path is registered already
         * @throws VhostException if DPDK refuses (e.g. the socket file exists)
         */
        public VhostUserPort open() {
            Eal eal = Eal.require();
            String path = socket.toAbsolutePath().toString();
            if (path.getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
                throw new IllegalArgumentException("socket path longer than " + MAX_SOCKET_PATH + " bytes: " + path);
            }
            Path dir = socket.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) {
                throw new IllegalArgumentException("socket directory " + dir + " does not exist");
            }
            if (!client && Files.exists(socket)) {
                throw new IllegalArgumentException("socket " + path + " exists already (another backend, or a stale"
                        + " file: remove it)");
            }
            VhostUserPort port = new VhostUserPort(this, eal, path);
            if (PORTS.putIfAbsent(path, port) != null) {
                throw new IllegalStateException("socket " + path + " is already registered in this process");
            }
            boolean registered = false;
            try (NativeLog.Capture capture = NativeLog.capture(Thread.currentThread())) {
                check(NativeVhost.driverRegister(path, flags()), "rte_vhost_driver_register", capture);
                registered = true;
                if (features != null) {
                    check(NativeVhost.driverSetFeatures(path, features), "rte_vhost_driver_set_features", capture);
                }
                if (enable != 0) {
                    check(NativeVhost.driverEnableFeatures(path, enable), "rte_vhost_driver_enable_features", capture);
                }
                if (disable != 0) {
                    check(NativeVhost.driverDisableFeatures(path, disable), "rte_vhost_driver_disable_features", capture);
                }
                if (protocolFeatures != null) {
                    check(NativeVhost.driverSetProtocolFeatures(path, protocolFeatures), "rte_vhost_driver_set_protocol_features",
                            capture);
                }
                if (maxQueuePairs == 1) {
                    // DPDK 22.11 has no rte_vhost_driver_set_max_queue_num (23.07 added it): with
                    // one queue pair, not offering VIRTIO_NET_F_MQ is how to keep frontends to one.
                    check(NativeVhost.driverDisableFeatures(path, VirtioFeature.NET_MQ.mask()),
                            "rte_vhost_driver_disable_features", capture);
                }
                if (iommu && !asksFor(VirtioFeature.RING_PACKED)) {
                    // DPDK 22.11 drops, uncounted, each packed-ring descriptor that misses in the
                    // IOTLB (fill_vec_buf_packed counts it before map_one_desc fails): with the
                    // vIOMMU, split rings only, unless the application asks for packed ones.
                    check(NativeVhost.driverDisableFeatures(path, VirtioFeature.RING_PACKED.mask()),
                            "rte_vhost_driver_disable_features", capture);
                }
                check(NativeVhost.callbackRegister(path), "rte_vhost_driver_callback_register", capture);
                check(NativeVhost.driverStart(path), "rte_vhost_driver_start", capture);
            } catch (RuntimeException e) {
                if (registered) {
                    NativeVhost.driverUnregister(path);
                }
                PORTS.remove(path, port);
                throw e;
            }
            return EalOwnership.own(eal, port);
        }

        /** Whether the application asked for {@code f} by name: in {@link #features} or {@link #enableFeatures}. */
        private boolean asksFor(VirtioFeature f) {
            return f.isIn(enable) || (features != null && f.isIn(features));
        }

        private void check(int rc, String what, NativeLog.Capture capture) {
            if (rc != 0) {
                throw new VhostException(what + "(" + socket + ") failed (" + rc + ")", capture.lines());
            }
        }
    }

    /** Routes DPDK's callbacks to ports and devices; runs on DPDK's threads. */
    private static final class Dispatcher implements NativeVhost.Events {
        @Override
        public int newDevice(int vid) {
            String ifname = NativeVhost.getIfname(vid);
            VhostUserPort port = ifname == null ? null : PORTS.get(ifname);
            if (port == null || vid < 0 || vid >= DEVICES.length) {
                LOG.log(System.Logger.Level.WARNING, "refusing vhost device {0} of unknown socket {1}", vid, ifname);
                return -1;
            }
            VhostDevice device = new VhostDevice(port, vid);
            synchronized (DEVICES) {
                DEVICES[vid] = device;
            }
            if (!port.guestNotifications) {
                for (int i = 0; i < device.vringCount(); i++) {
                    // refused only for a vring not set up yet; DPDK then keeps the frontend's default
                    if (NativeVhost.enableGuestNotification(vid, i, false) != 0) {
                        LOG.log(System.Logger.Level.DEBUG, "vring {0} of device {1}: notifications left on", i, vid);
                    }
                }
            }
            port.deviceAdded(device);
            if (LOG.isLoggable(System.Logger.Level.INFO)) {
                LOG.log(System.Logger.Level.INFO, "frontend connected on " + port.socket + ": vid " + vid + ", "
                        + summary(device));
            }
            callListener(port, "newDevice", false, () -> port.listener.newDevice(device));
            return 0;
        }

        /** One line's worth of what the frontend negotiated: vrings, the features that change the data path. */
        private static String summary(VhostDevice d) {
            try {
                long f = d.features();
                StringBuilder sb = new StringBuilder().append(d.vringCount()).append(" vrings, features 0x")
                        .append(Long.toHexString(f));
                String sep = " (";
                for (VirtioFeature v : new VirtioFeature[] {VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF,
                    VirtioFeature.NET_MQ, VirtioFeature.RING_PACKED, VirtioFeature.IOMMU_PLATFORM}) {
                    if (v.isIn(f)) {
                        sb.append(sep).append(v.name());
                        sep = ", ";
                    }
                }
                return sep.equals(", ") ? sb.append(')').toString() : sb.toString();
            } catch (IllegalStateException e) {
                return "gone already";
            }
        }

        @Override
        public void destroyDevice(int vid) {
            VhostDevice device;
            synchronized (DEVICES) {
                device = vid >= 0 && vid < DEVICES.length ? DEVICES[vid] : null;
                if (device != null) {
                    DEVICES[vid] = null;
                }
            }
            if (device == null) {
                return;
            }
            device.stopDataPath();
            device.port().deviceRemoved(device);
            LOG.log(System.Logger.Level.INFO, "frontend gone from " + device.port().socket + ": vid " + vid
                    + " (it disconnected or stopped the device)");
            callListener(device.port(), "destroyDevice", false, () -> device.port().listener.destroyDevice(device));
            device.markDestroyed();
        }

        @Override
        public void vringStateChanged(int vid, int vring, boolean enabled) {
            VhostUserPort port = portOf(vid);
            if (port != null) {
                callListener(port, "vringStateChanged", true, () -> port.listener.vringStateChanged(port, vid, vring, enabled));
            }
        }

        @Override
        public void featuresChanged(int vid, long features) {
            VhostUserPort port = portOf(vid);
            if (port != null) {
                callListener(port, "featuresChanged", true, () -> port.listener.featuresChanged(port, vid, features));
            }
        }

        @Override
        public void connectionClosed(int vid, int memoryRegions, long features) {
            if (memoryRegions >= 0 || features == 0) {
                return; // it started the device, or left before negotiating anything (a probe)
            }
            VhostUserPort port = portOf(vid);
            LOG.log(System.Logger.Level.WARNING, NO_MEMORY_TABLE.replace("{0}",
                    port != null ? port.socket.toString() : String.valueOf(NativeVhost.getIfname(vid))));
        }

        private static VhostUserPort portOf(int vid) {
            String ifname = NativeVhost.getIfname(vid);
            return ifname == null ? null : PORTS.get(ifname);
        }

        private static void callListener(VhostUserPort port, String what, boolean vringsLocked, Runnable call) {
            boolean wasIn = IN_CALLBACK.get();
            IN_CALLBACK.set(true);
            IN_LOCKED_CALLBACK.set(vringsLocked);
            try {
                call.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "vhost listener " + what + " of " + port.socket + " threw", t);
            } finally {
                IN_CALLBACK.set(wasIn);
                IN_LOCKED_CALLBACK.set(false);
            }
        }
    }
}
