package io.jvhost.metrics;

/**
 * JMX view of one port of a {@link io.jvhost.serve.PortServer}, named
 * {@code io.jvhost:type=Port,socket="<socket path>"} (see {@link JmxMetrics}). Counters are the sums
 * over the port's queue pairs. Every read is a fresh {@link PortSnapshot}.
 */
public interface PortMXBean {
    /** @return the socket path */
    String getSocket();

    /** @return the port's index in the server */
    int getIndex();

    /** @return whether the port is open */
    boolean isOpen();

    /** @return whether the server's thread is running */
    boolean isServerRunning();

    /** @return whether a frontend's device is ready on it (set up by the frontend, not yet destroyed) */
    boolean isConnected();

    /** @return the current device's id, -1 if none */
    int getVid();

    /** @return vrings the frontend set up, 0 if none */
    int getVringCount();

    /** @return queue pairs served */
    int getQueuePairs();

    /** @return the virtio features negotiated with the current frontend, 0 if none */
    long getFeatures();

    /** @return their names */
    String[] getFeatureNames();

    /** @return the vhost-user protocol features negotiated with the current frontend, 0 if none */
    long getProtocolFeatures();

    /** @return their names */
    String[] getProtocolFeatureNames();

    /** @return packets received from the guest */
    long getRxPackets();

    /** @return bytes received from the guest */
    long getRxBytes();

    /** @return packets sent to the guest */
    long getTxPackets();

    /** @return bytes sent to the guest */
    long getTxBytes();

    /** @return packets freed unsent */
    long getDropped();

    /** @return IOTLB hits of the current device */
    long getIotlbHits();

    /** @return IOTLB misses of the current device */
    long getIotlbMisses();
}
