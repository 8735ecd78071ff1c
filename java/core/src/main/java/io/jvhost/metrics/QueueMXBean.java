package io.jvhost.metrics;

/**
 * JMX view of one queue pair of one port of a {@link io.jvhost.serve.PortServer}, named
 * {@code io.jvhost:type=Queue,socket="<socket path>",queue=<n>} (see {@link JmxMetrics}).
 */
public interface QueueMXBean {
    /** @return the port's socket path */
    String getSocket();

    /** @return the queue pair */
    int getQueuePair();

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

    /** @return IOTLB hits of the queue pair's vrings on the current device */
    long getIotlbHits();

    /** @return IOTLB misses of the queue pair's vrings on the current device */
    long getIotlbMisses();
}
