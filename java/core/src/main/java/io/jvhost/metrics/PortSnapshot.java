package io.jvhost.metrics;

import io.jvhost.protocol.FeatureBit;
import io.jvhost.protocol.ProtocolFeature;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One port of a {@link PortServer} at one moment: its state, its current device's, and its queue
 * pairs' counters.
 *
 * @param index the port's index in {@link PortServer#ports()}
 * @param socket the socket path
 * @param open whether the port is open
 * @param connected whether a frontend runs a device on it (a live {@link VhostDevice})
 * @param vid the device's id, -1 if none
 * @param vringCount vrings the frontend set up, 0 if none
 * @param features the virtio features negotiated with the frontend, 0 if none
 * @param protocolFeatures the vhost-user protocol features negotiated, 0 if none
 * @param queues the queue pairs, in order
 */
public record PortSnapshot(int index, String socket, boolean open, boolean connected, int vid, int vringCount,
        long features, long protocolFeatures, List<QueueSnapshot> queues) {

    /**
     * Copies {@code queues}: the record stays immutable.
     *
     * @param index the port's index in {@link PortServer#ports()}
     * @param socket the socket path
     * @param open whether the port is open
     * @param connected whether a frontend runs a device on it
     * @param vid the device's id, -1 if none
     * @param vringCount vrings the frontend set up, 0 if none
     * @param features the negotiated virtio features, 0 if none
     * @param protocolFeatures the negotiated protocol features, 0 if none
     * @param queues the queue pairs, in order
     */
    public PortSnapshot {
        queues = List.copyOf(queues);
    }

    /** @return the negotiated virtio features' names (bits {@link VirtioFeature} lacks as {@code bit<n>}) */
    public List<String> featureNames() {
        return FeatureBit.names(VirtioFeature.class, features);
    }

    /** @return the negotiated protocol features' names */
    public List<String> protocolFeatureNames() {
        return FeatureBit.names(ProtocolFeature.class, protocolFeatures);
    }

    /** @return the sum of the queue pairs' counters, as queue pair -1 */
    public QueueSnapshot total() {
        long[] t = new long[7];
        for (QueueSnapshot q : queues) {
            t[0] += q.rxPackets();
            t[1] += q.rxBytes();
            t[2] += q.txPackets();
            t[3] += q.txBytes();
            t[4] += q.dropped();
            t[5] += q.iotlbHits();
            t[6] += q.iotlbMisses();
        }
        return new QueueSnapshot(-1, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
    }

    /**
     * Reads port {@code index} of {@code server}.
     *
     * @param server the server
     * @param index index in {@link PortServer#ports()}
     * @return its snapshot
     */
    public static PortSnapshot of(PortServer server, int index) {
        return of(MetricsSource.of(server), index);
    }

    /**
     * Reads port {@code index} of {@code server}.
     *
     * @param server the ports and counters
     * @param index index in {@link MetricsSource#ports()}
     * @return its snapshot
     */
    public static PortSnapshot of(MetricsSource server, int index) {
        VhostUserPort port = server.ports().get(index);
        int qps = server.queuePairs();
        long[][] iotlb = new long[qps][2];
        boolean open = port.isOpen();
        VhostDevice d = open ? port.currentDevice() : null;
        int vid = -1;
        int vrings = 0;
        long features = 0;
        long protocol = 0;
        if (d != null) {
            try {
                // each view call checks that the device still exists: a device destroyed meanwhile
                // throws instead of reading freed memory, and reads as disconnected
                features = d.features();
                protocol = d.protocolFeatures();
                vrings = d.vringCount();
                vid = d.vid();
                for (int v = 0; v < Math.min(vrings, 2 * qps); v++) {
                    addIotlb(d, v, iotlb[v / 2]);
                }
            } catch (IllegalStateException e) {
                d = null;
                vid = -1;
                vrings = 0;
                features = 0;
                protocol = 0;
                iotlb = new long[qps][2];
            }
        }
        List<QueueSnapshot> queues = new ArrayList<>(qps);
        for (int q = 0; q < qps; q++) {
            QueueCounters c = server.counters(index, q);
            queues.add(new QueueSnapshot(q, c.rxPackets(), c.rxBytes(), c.txPackets(), c.txBytes(), c.dropped(),
                    iotlb[q][0], iotlb[q][1]));
        }
        return new PortSnapshot(index, port.socket().toString(), open, d != null && d.isAlive(), vid, vrings, features,
                protocol, queues);
    }

    private static void addIotlb(VhostDevice d, int vring, long[] into) {
        Map<String, Long> st;
        try {
            st = d.stats(vring);
        } catch (IllegalStateException e) {
            if (!d.isAlive()) {
                throw e; // the device is gone: the caller reports it disconnected
            }
            return; // this vring's rings are not translated yet: nothing counted on it
        }
        into[0] += st.getOrDefault("iotlb_hits", 0L);
        into[1] += st.getOrDefault("iotlb_misses", 0L);
    }
}
