package io.jvhost.internal;

/**
 * Natives of librte_vhost, and the upcalls DPDK's callbacks make; see native/vhost.c. The device
 * view and address translation return value objects of the public API, so they are natives of
 * {@link io.jvhost.vhost.VhostDevice} itself (native/vhost_device.c): this package depends on no
 * public one.
 */
public final class NativeVhost {
    /** Receives DPDK's device callbacks. */
    public interface Events {
        /** @return 0 to accept the device, -1 to refuse it */
        int newDevice(int vid);

        void destroyDevice(int vid);

        void vringStateChanged(int vid, int vring, boolean enabled);

        void featuresChanged(int vid, long features);

        /**
         * A frontend's connection ended.
         *
         * @param memoryRegions regions of the memory table it sent, -1 if it sent none
         * @param features the features it negotiated, 0 if none
         */
        default void connectionClosed(int vid, int memoryRegions, long features) {
        }
    }

    private static volatile Events events;

    private NativeVhost() {
    }

    /** @param e the receiver of every device callback */
    public static void setEvents(Events e) {
        events = e;
    }

    public static native int driverRegister(String path, long flags);

    public static native int driverUnregister(String path);

    public static native int callbackRegister(String path);

    public static native int driverStart(String path);

    /** @return 0, or -1 if DPDK refuses */
    public static native int driverSetFeatures(String path, long features);

    /** @return 0, or -1 if DPDK refuses */
    public static native int driverEnableFeatures(String path, long features);

    /** @return 0, or -1 if DPDK refuses */
    public static native int driverDisableFeatures(String path, long features);

    /** @return 0, or -1 if DPDK refuses */
    public static native int driverSetProtocolFeatures(String path, long features);

    /** @return the features the driver offers; throws IllegalStateException if none is registered */
    public static native long driverGetFeatures(String path);

    /** @return the protocol features the driver offers; throws IllegalStateException if none is registered */
    public static native long driverGetProtocolFeatures(String path);

    public static native String getIfname(int vid);

    public static native int vringStatsReset(int vid, int vring);

    public static native int enableGuestNotification(int vid, int vring, boolean enable);

    public static native int readMemory(int vid, long vva, byte[] dst, int off, int len);

    public static native int enqueue(int vid, int vring, long pkts, int count);

    public static native int dequeue(int vid, int vring, long pool, long pkts, int offset, int max);

    // Upcalls from DPDK's threads (native/vhost.c), with the callbacks' own signatures. An
    // exception that escapes is logged there (jvhost_upcall_failed) and refuses a new device.

    @SuppressWarnings("unused")
    private static int onNewDevice(int vid) {
        Events e = events;
        return e == null ? -1 : e.newDevice(vid);
    }

    @SuppressWarnings("unused")
    private static void onDestroyDevice(int vid) {
        Events e = events;
        if (e != null) {
            e.destroyDevice(vid);
        }
    }

    @SuppressWarnings("unused")
    private static void onVringStateChanged(int vid, int vring, boolean enabled) {
        Events e = events;
        if (e != null) {
            e.vringStateChanged(vid, vring, enabled);
        }
    }

    @SuppressWarnings("unused")
    private static void onConnectionClosed(int vid, int memoryRegions, long features) {
        Events e = events;
        if (e != null) {
            e.connectionClosed(vid, memoryRegions, features);
        }
    }

    @SuppressWarnings("unused")
    private static void onFeaturesChanged(int vid, long features) {
        Events e = events;
        if (e != null) {
            e.featuresChanged(vid, features);
        }
    }

    /** rte_vhost_log_write: marks guest physical [gpa, gpa+len) dirty if the frontend is logging. */
    public static native void logWrite(int vid, long gpa, long len);

    /** rte_vhost_log_used_vring: marks [offset, offset+len) of vring's used ring dirty if logging. */
    public static native void logUsedVring(int vid, int vring, long offset, long len);
}
