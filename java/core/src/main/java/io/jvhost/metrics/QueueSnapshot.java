package io.jvhost.metrics;

/**
 * Counters of one queue pair of one port at one moment.
 *
 * @param queuePair the queue pair
 * @param rxPackets packets received from the guest
 * @param rxBytes bytes received from the guest
 * @param txPackets packets sent to the guest
 * @param txBytes bytes sent to the guest
 * @param dropped packets freed unsent (see {@link io.jvhost.serve.QueueCounters#dropped()})
 * @param iotlbHits IOTLB hits of the queue pair's two vrings (current device; 0 without one)
 * @param iotlbMisses IOTLB misses of the queue pair's two vrings (current device; 0 without one)
 */
public record QueueSnapshot(int queuePair, long rxPackets, long rxBytes, long txPackets, long txBytes, long dropped,
        long iotlbHits, long iotlbMisses) {
}
