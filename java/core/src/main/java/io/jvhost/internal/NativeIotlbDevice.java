package io.jvhost.internal;

/**
 * Natives of native/iotlb_device.c: a vhost device as DPDK makes one for a connection, whose
 * vhost-user messages DPDK's own handler takes on the calling thread. Its handle also works with
 * {@link NativeIotlbCache}.
 */
public final class NativeIotlbDevice {
    private NativeIotlbDevice() {
    }

    /**
     * @return a handle: a device made by DPDK's vhost_new_device() under a registered (never
     *     started) vhost driver path, taking messages through vhost_user_msg_handler(); or throws
     */
    public static native long createDevice(String path);

    /** @return DPDK's end of the backend-request channel, to send in SET_SLAVE_REQ_FD (once; then -1) */
    public static native int takeSlaveBackendFd(long handle);

    /**
     * Sends a vhost-user message on the device's main channel and has DPDK handle it.
     *
     * @param msg header and payload
     * @param fds file descriptors to pass (SCM_RIGHTS), or null
     * @return vhost_user_msg_handler()'s result (negative: DPDK refused the message); DPDK's
     *     reply, if it sent one, is then read with {@link #readReply}
     */
    public static native int request(long handle, byte[] msg, int[] fds);

    /** @return the reply DPDK sent to the last {@link #request}, or null if it sent none */
    public static native byte[] readReply(long handle);

    /** @return the device's number of virtqueues (dev->nr_vring) */
    public static native int nrVring(long handle);

    /** @return a sparse memfd of {@code size} bytes, or -errno */
    public static native int memfd(String name, long size);

    /** close(fd). */
    public static native void closeFd(int fd);
}
