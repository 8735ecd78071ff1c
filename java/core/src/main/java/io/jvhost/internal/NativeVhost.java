package io.jvhost.internal;

/** Natives of librte_vhost, and the upcalls DPDK's callbacks make; see native/vhost.c. */
public final class NativeVhost {
    /** Receives DPDK's device callbacks. */
    public interface Events {
        /** @return 0 to accept the device, -1 to refuse it */
        int newDevice(int vid);

        void destroyDevice(int vid);

        void vringStateChanged(int vid, int vring, boolean enabled);

        void featuresChanged(int vid, long features);
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

    /** op: 0 set, 1 enable, 2 disable, 3 set protocol features. */
    public static native int driverFeatures(String path, int op, long features);

    /** which: 0 features, 1 protocol features; -1 on error. */
    public static native long driverGetFeatures(String path, int which);

    public static native String getIfname(int vid);

    public static native long[] deviceInfo(int vid);

    public static native long[] memTable(int vid);

    public static native long[] vringInfo(int vid, int vring);

    public static native Object[] vringStats(int vid, int vring);

    public static native int vringStatsReset(int vid, int vring);

    public static native int enableGuestNotification(int vid, int vring, boolean enable);

    public static native long gpaToVva(int vid, long gpa, long len, long[] mapped);

    public static native long iovaToVva(int vid, int vring, long iova, long len, int perm, long[] mapped);

    public static native int readMemory(int vid, long vva, byte[] dst, int off, int len);

    public static native int enqueue(int vid, int vring, long pkts, int count);

    public static native int dequeue(int vid, int vring, long pool, long pkts, int offset, int max);

    // Upcalls from DPDK's threads; they must not throw.

    @SuppressWarnings("unused")
    private static int onNewDevice(int vid, int unused, long unused2) {
        Events e = events;
        return e == null ? -1 : e.newDevice(vid);
    }

    @SuppressWarnings("unused")
    private static int onDestroyDevice(int vid, int unused, long unused2) {
        Events e = events;
        if (e != null) {
            e.destroyDevice(vid);
        }
        return 0;
    }

    @SuppressWarnings("unused")
    private static int onVringStateChanged(int vid, int vring, long enable) {
        Events e = events;
        if (e != null) {
            e.vringStateChanged(vid, vring, enable != 0);
        }
        return 0;
    }

    @SuppressWarnings("unused")
    private static int onFeaturesChanged(int vid, int unused, long features) {
        Events e = events;
        if (e != null) {
            e.featuresChanged(vid, features);
        }
        return 0;
    }

    /** rte_vhost_log_write: marks guest physical [gpa, gpa+len) dirty if the frontend is logging. */
    public static native void logWrite(int vid, long gpa, long len);

    /** rte_vhost_log_used_vring: marks [offset, offset+len) of vring's used ring dirty if logging. */
    public static native void logUsedVring(int vid, int vring, long offset, long len);
}
