package io.jvhost.internal;

/**
 * Natives of vdev-based ethdev ports; see native/ethdev.c. {@code EthPort.stats()} returns a value
 * object, so its native is EthPort's own (native/eth_port.c).
 */
public final class NativeEthdev {
    private NativeEthdev() {
    }

    public static native int vdevCreate(String name, String args);

    public static native int configureAndStart(int port, int rxq, int txq, int ringSize, long pool);

    public static native int rxBurst(int port, int queue, long pkts, int offset, int max);

    public static native int txBurst(int port, int queue, long pkts, int count);

    public static native int linkUp(int port);

    public static native int close(int port, String name);
}
