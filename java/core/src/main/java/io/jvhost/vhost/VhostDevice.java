package io.jvhost.vhost;

import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MempoolHandle;
import io.jvhost.internal.NativeHandles;
import io.jvhost.internal.NativeVhost;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.VirtioFeature;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A frontend's device on a {@link VhostUserPort}, from {@link VhostListener#newDevice} until
 * {@link VhostListener#destroyDevice}: its view (features, memory table, vrings, statistics),
 * address translation, and the data path.
 *
 * <p>Queues are numbered by queue pair {@code q}: {@link #enqueue} writes to the guest's receive
 * vring {@code 2q}, {@link #dequeue} reads the guest's transmit vring {@code 2q+1}.
 *
 * <p>Threads: one thread at a time per vring (calls on the same vring from several threads are
 * serialized); different vrings may be served by different threads concurrently. A batch is used
 * by one thread at a time (see {@link PacketBatch}); a pool may be shared by every thread. View and
 * translation methods may be called from any thread, but not from a listener's
 * {@code vringStateChanged} or {@code featuresChanged} (DPDK holds the vring locks there).
 *
 * <p>When the device is destroyed, the data path returns 0 (takes and gives nothing) and the other
 * methods throw {@link IllegalStateException}: check {@link #isAlive()}. jvhost makes sure DPDK
 * never frees a device while one of these calls runs.
 */
public final class VhostDevice {
    private static final int ALIVE = 0;
    private static final int STOPPING = 1;
    private static final int DESTROYED = 2;
    private static final java.util.regex.Pattern STATS_PREFIX = java.util.regex.Pattern.compile("^(rx|tx)_q\\d+_");

    private final VhostUserPort port;
    private final int vid;
    private final String ifname;
    private final Object[] vringLocks;
    private final Object viewLock = new Object();
    private volatile int state = ALIVE;

    VhostDevice(VhostUserPort port, int vid) {
        this.port = port;
        this.vid = vid;
        this.ifname = port.socket().toString();
        this.vringLocks = new Object[2 * port.maxQueuePairs()];
        for (int i = 0; i < vringLocks.length; i++) {
            vringLocks[i] = new Object();
        }
    }

    /** @return DPDK's device id (vid) */
    public int vid() {
        return vid;
    }

    /** @return the port it belongs to */
    public VhostUserPort port() {
        return port;
    }

    /** @return DPDK's interface name: the socket path */
    public String ifname() {
        return ifname;
    }

    /** @return whether the device is live (its data path works) */
    public boolean isAlive() {
        return state == ALIVE;
    }

    // --- view -----------------------------------------------------------------------------------

    /** @return the negotiated virtio features */
    public long features() {
        return info().features();
    }

    /** @return the negotiated vhost-user protocol features */
    public long protocolFeatures() {
        return info().protocolFeatures();
    }

    /** @return whether the vIOMMU (IOTLB) path is in use: VIRTIO_F_IOMMU_PLATFORM negotiated */
    public boolean iommu() {
        return VirtioFeature.IOMMU_PLATFORM.isIn(features());
    }

    /** @return the number of vrings the frontend set up */
    public int vringCount() {
        return info().vringCount();
    }

    /** @return the NUMA node of the device's memory, -1 if unknown */
    public int numaNode() {
        return info().numaNode();
    }

    /** @return the MTU the frontend set (VHOST_USER_NET_SET_MTU), -1 if none */
    public int mtu() {
        return info().mtu();
    }

    private DeviceInfo info() {
        synchronized (viewLock) {
            checkView();
            return nativeDeviceInfo(vid);
        }
    }

    /** @return the memory table */
    public List<MemoryRegion> memoryRegions() {
        synchronized (viewLock) {
            checkView();
            return List.of(nativeMemoryRegions(vid));
        }
    }

    /**
     * @param vring a vring index, 0 to vringCount() - 1
     * @return what librte_vhost knows of it
     */
    public VringInfo vring(int vring) {
        checkVring(vring);
        synchronized (viewLock) {
            checkView();
            return nativeVringInfo(vid, vring);
        }
    }

    /**
     * Per-vring statistics (rte_vhost_vring_stats_get), in DPDK's order: {@code good_packets},
     * {@code good_bytes}, multicast/broadcast, size buckets, {@code guest_notifications},
     * {@code iotlb_hits}/{@code iotlb_misses}. DPDK names them {@code rx_q<n>_...} for the vrings
     * jvhost dequeues from and {@code tx_q<n>_...} for those it enqueues to; that prefix is dropped
     * here, since the vring index says it.
     *
     * @param vring a vring index
     * @return name to value; empty if the port was opened with {@code stats(false)}
     */
    public Map<String, Long> stats(int vring) {
        checkVring(vring);
        VringStatistics s;
        synchronized (viewLock) {
            checkView();
            s = nativeVringStatistics(vid, vring);
        }
        if (s == null) {
            return Map.of();
        }
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < s.names().length; i++) {
            m.put(STATS_PREFIX.matcher(s.names()[i]).replaceFirst(""), s.values()[i]);
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * Resets a vring's statistics.
     *
     * @param vring a vring index
     */
    public void resetStats(int vring) {
        checkVring(vring);
        synchronized (viewLock) {
            checkView();
            NativeVhost.vringStatsReset(vid, vring);
        }
    }

    /**
     * Asks the frontend to kick, or not, when it adds buffers to a vring
     * (rte_vhost_enable_guest_notification: clears or sets VRING_USED_F_NO_NOTIFY in the used
     * ring). DPDK keeps the choice and applies it again when the vring is re-enabled. Ports are
     * opened with notifications off unless {@link VhostUserPort.Builder#guestNotifications} says
     * otherwise.
     *
     * @param vring a vring index
     * @param enable ask for kicks
     * @throws VhostException if DPDK refuses (the vring is not set up, or its rings are not
     *     translated yet)
     */
    public void guestNotifications(int vring, boolean enable) {
        checkVring(vring);
        int rc;
        synchronized (viewLock) {
            checkView();
            rc = NativeVhost.enableGuestNotification(vid, vring, enable);
        }
        if (rc != 0) {
            throw new VhostException("rte_vhost_enable_guest_notification(" + vid + ", " + vring + ", " + enable
                    + ") failed (" + rc + "): vring not ready", List.of());
        }
    }

    // --- address translation -------------------------------------------------------------------

    /**
     * Translates a guest physical address through the memory table (rte_vhost_va_from_guest_pa).
     *
     * @param gpa guest physical address
     * @param length bytes wanted
     * @return the backend address and how much of the length is mapped there; a miss if none
     */
    public Translation gpaToVva(long gpa, long length) {
        checkLength(length);
        synchronized (viewLock) {
            checkView();
            return nativeGpaToVva(vid, gpa, length);
        }
    }

    /**
     * Translates an I/O virtual address the way the device's own vring does it (DPDK's
     * {@code vhost_iova_to_vva}, with DPDK's locking): through the IOTLB when the vIOMMU path was
     * negotiated, through the memory table otherwise. An IOTLB miss returns a miss and, as in the
     * data path, sends an IOTLB MISS request to the frontend unless one is pending already; the
     * frontend's UPDATE makes a later call hit.
     *
     * @param vring the vring whose IOTLB cache to use
     * @param iova the address
     * @param length bytes wanted
     * @param access the access wanted: RO, WO or RW
     * @return the backend address and the mapped length; a miss if nothing is mapped
     * @throws IllegalArgumentException if {@code access} is {@link Access#NONE}
     */
    public Translation iovaToVva(int vring, long iova, long length, Access access) {
        checkVring(vring);
        checkLength(length);
        int perm = Access.requireSome(access).wire();
        synchronized (viewLock) {
            checkView();
            return nativeIovaToVva(vid, vring, iova, length, perm);
        }
    }

    /**
     * Reads guest memory at a backend address (e.g. a {@link Translation}'s), only if the whole
     * range lies inside one region of the current memory table.
     *
     * @param backendAddress where
     * @param dst destination
     * @param off where in dst
     * @param length how many bytes
     * @throws IllegalArgumentException if the range is not inside guest memory
     */
    public void read(long backendAddress, byte[] dst, int off, int length) {
        Objects.checkFromIndexSize(off, length, dst.length);
        synchronized (viewLock) {
            checkView();
            int rc = NativeVhost.readMemory(vid, backendAddress, dst, off, length);
            if (rc != 0) {
                throw new IllegalArgumentException(String.format("[0x%x, +%d) is not inside the guest memory of %s",
                        backendAddress, length, this));
            }
        }
    }

    // --- data path -----------------------------------------------------------------------------

    /**
     * Sends the batch's packets to the guest (rte_vhost_enqueue_burst on vring 2q). DPDK copies
     * the packets it takes into guest buffers; those are freed and removed from the front of the
     * batch. The rest (the guest had no room, or a buffer was not mapped yet: an IOTLB miss) stay
     * in the batch, for the caller to retry or drop.
     *
     * @param queuePair q
     * @param batch the packets
     * @return how many the guest took; 0 if the device is gone or the frontend has not set up
     *     this queue pair (it may use fewer than the port offers)
     */
    public int enqueue(int queuePair, PacketBatch batch) {
        int vring = 2 * checkQueuePair(queuePair);
        MbufArray array = NativeHandles.batch(batch);
        array.enter();
        try {
            int count = Math.min(array.count(), 0xffff);
            if (count == 0) {
                return 0;
            }
            synchronized (vringLocks[vring]) {
                if (state != ALIVE) {
                    return 0;
                }
                int taken = NativeVhost.enqueue(vid, vring, array.pointers(), count);
                array.moved(-taken);
                return taken;
            }
        } finally {
            array.exit();
        }
    }

    /**
     * Receives packets the guest sent (rte_vhost_dequeue_burst on vring 2q+1), appending them to
     * the batch (as many as it has room for). The batch owns them.
     *
     * @param queuePair q
     * @param pool where the packets' mbufs come from
     * @param batch where they go
     * @return how many were received; 0 if the device is gone or the frontend has not set up this
     *     queue pair (it may use fewer than the port offers)
     */
    public int dequeue(int queuePair, MbufPool pool, PacketBatch batch) {
        int vring = 2 * checkQueuePair(queuePair) + 1;
        MempoolHandle mempool = NativeHandles.pool(pool);
        long mp = mempool.acquire();
        try {
            MbufArray array = NativeHandles.batch(batch);
            array.enter();
            try {
                int room = Math.min(array.remaining(), 0xffff);
                if (room == 0) {
                    return 0;
                }
                synchronized (vringLocks[vring]) {
                    if (state != ALIVE) {
                        return 0;
                    }
                    int n = NativeVhost.dequeue(vid, vring, mp, array.pointers(), array.count(), room);
                    array.moved(n);
                    return n;
                }
            } finally {
                array.exit();
            }
        } finally {
            mempool.release();
        }
    }

    // --- live migration --------------------------------------------------------------------------

    /**
     * Whether the frontend is logging this device's writes to guest memory: it has set
     * {@code VHOST_F_LOG_ALL} ({@link VirtioFeature#LOG_ALL}), which QEMU does while it migrates the
     * guest, and clears when the migration ends or fails. While it is on, every write to guest
     * memory must be logged: {@link #enqueue} and {@link #dequeue} do it themselves (DPDK's data
     * path); writes an application makes on its own (through a {@link Translation}) need
     * {@link #logWrite} or {@link #logUsedVring}.
     *
     * @return whether dirty-page logging is on
     * @throws IllegalStateException if the device was destroyed
     */
    public boolean isLogging() {
        return VirtioFeature.LOG_ALL.isIn(features());
    }

    /**
     * Marks guest memory dirty in the frontend's log (rte_vhost_log_write), so that a migration
     * copies it again. Needed only for writes to guest memory outside {@link #enqueue} and
     * {@link #dequeue}; a no-op while the device is not {@linkplain #isLogging() logging}, so it may
     * be called after every such write. The address is a guest <em>physical</em> address: with the
     * vIOMMU ({@link #iommu()}), an I/O virtual address must be translated to one first.
     *
     * @param guestPhysAddr the first byte written, a guest physical address
     * @param length how many bytes were written
     * @throws IllegalArgumentException if length is not positive, or the range is not inside
     *     [0, 2<sup>63</sup>)
     * @throws IllegalStateException if the device was destroyed
     */
    public void logWrite(long guestPhysAddr, long length) {
        checkLength(length);
        checkRange("guest physical address", guestPhysAddr, length);
        synchronized (viewLock) {
            checkView();
            NativeVhost.logWrite(vid, guestPhysAddr, length);
        }
    }

    /**
     * Marks part of a vring's used ring dirty in the frontend's log (rte_vhost_log_used_vring): for
     * an application that updates a used ring itself. A no-op while the device is not logging.
     *
     * @param vring the vring
     * @param offset where in the used ring, in bytes
     * @param length how many bytes were written
     * @throws IllegalArgumentException if the vring is out of range, the length not positive, or
     *     the range is not inside [0, 2<sup>63</sup>)
     * @throws IllegalStateException if the device was destroyed
     */
    public void logUsedVring(int vring, long offset, long length) {
        checkVring(vring);
        checkLength(length);
        checkRange("offset", offset, length);
        synchronized (viewLock) {
            checkView();
            NativeVhost.logUsedVring(vid, vring, offset, length);
        }
    }

    // --- lifetime --------------------------------------------------------------------------------

    /** destroy_device, first step: the data path stops, and no burst runs when this returns. */
    void stopDataPath() {
        state = STOPPING;
        for (Object lock : vringLocks) {
            synchronized (lock) {
                // wait for a burst in progress
            }
        }
    }

    /** destroy_device, last step: DPDK may free the device after this. */
    void markDestroyed() {
        synchronized (viewLock) {
            state = DESTROYED;
        }
    }

    private void checkView() {
        if (state == DESTROYED) {
            throw new IllegalStateException("vhost device " + vid + " of " + ifname + " was destroyed");
        }
        if (VhostUserPort.IN_LOCKED_CALLBACK.get()) {
            throw new IllegalStateException("device views are not available in vringStateChanged/featuresChanged:"
                    + " DPDK holds the vring locks there");
        }
    }

    private int checkQueuePair(int q) {
        if (q < 0 || q >= port.maxQueuePairs()) {
            throw new IllegalArgumentException("queue pair " + q + " outside 0.." + (port.maxQueuePairs() - 1));
        }
        return q;
    }

    private void checkVring(int vring) {
        if (vring < 0 || vring >= 2 * port.maxQueuePairs()) {
            throw new IllegalArgumentException("vring " + vring + " outside 0.." + (2 * port.maxQueuePairs() - 1));
        }
    }

    /** DPDK adds start and length unsigned: a range that wraps would mark pages nobody wrote. */
    private static void checkRange(String what, long start, long length) {
        if (start < 0 || start + length < 0) {
            throw new IllegalArgumentException(what + " range [0x" + Long.toHexString(start) + ", +" + length
                    + ") is not inside [0, 2^63)");
        }
    }

    private static void checkLength(long length) {
        if (length <= 0) {
            throw new IllegalArgumentException("length must be positive: " + length);
        }
    }

    // Natives of native/vhost_device.c: each returns a value object built in C from a constructor
    // cached at load. Called under viewLock while the device is alive.

    private static native DeviceInfo nativeDeviceInfo(int vid);

    private static native MemoryRegion[] nativeMemoryRegions(int vid);

    private static native VringInfo nativeVringInfo(int vid, int vring);

    /** @return null when the port keeps no statistics */
    private static native VringStatistics nativeVringStatistics(int vid, int vring);

    private static native Translation nativeGpaToVva(int vid, long gpa, long length);

    private static native Translation nativeIovaToVva(int vid, int vring, long iova, long length, int perm);

    @Override
    public String toString() {
        return "VhostDevice[vid " + vid + ", " + ifname + (state == ALIVE ? "]" : ", destroyed]");
    }
}
