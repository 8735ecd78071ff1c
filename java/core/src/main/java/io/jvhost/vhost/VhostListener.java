package io.jvhost.vhost;

/**
 * Device events of a {@link VhostUserPort}. Every method has an empty default.
 *
 * <p>Threads: DPDK calls these on its {@code vhost-events} thread, except {@link #destroyDevice}
 * when the port is being closed, which runs on the thread calling {@link VhostUserPort#close()}.
 * A listener must return quickly and must not block on anything a data-path thread holds. An
 * exception it throws is logged and contained; it never reaches DPDK.
 *
 * <p>{@link #vringStateChanged} and {@link #featuresChanged} run while DPDK holds every vring's
 * lock of the device: they may not use the device (its view methods throw
 * {@link IllegalStateException} there), and they may come before {@link #newDevice}, while the
 * frontend is still setting up; {@code vid} names the connection.
 */
public interface VhostListener {
    /**
     * A frontend finished setting up a device: its rings may be used from now on.
     *
     * @param device the device
     */
    default void newDevice(VhostDevice device) {
    }

    /**
     * The device stops: the frontend disconnected, stopped its rings (GET_VRING_BASE, RESET_OWNER),
     * or the port is closing. The data path already returns 0 for it; view methods still work
     * during this call, and not after.
     *
     * @param device the device
     */
    default void destroyDevice(VhostDevice device) {
    }

    /**
     * A vring was enabled or disabled.
     *
     * @param port the port
     * @param vid DPDK's device id of the connection
     * @param vring the vring index (2q: guest RX of queue pair q, 2q+1: guest TX)
     * @param enabled its new state
     */
    default void vringStateChanged(VhostUserPort port, int vid, int vring, boolean enabled) {
    }

    /**
     * The frontend changed the negotiated features.
     *
     * @param port the port
     * @param vid DPDK's device id of the connection
     * @param features the new feature bits
     */
    default void featuresChanged(VhostUserPort port, int vid, long features) {
    }
}
