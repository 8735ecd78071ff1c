package io.jvhost.metrics;

import io.jvhost.serve.PortServer;
import io.jvhost.serve.QueueCounters;
import io.jvhost.vhost.VhostUserPort;
import java.util.List;
import java.util.Objects;

/**
 * What the metrics read: ports, their queue pairs and a {@link QueueCounters} per port and queue
 * pair. A {@link PortServer} is one ({@link #of(PortServer)}); an application's own
 * {@link io.jvhost.loop.EventLoop} keeps its counts in a {@link PortCounters}. Reads may come from
 * any thread at any time, also after the ports or EAL closed.
 */
public interface MetricsSource {
    /** @return the ports, in the order counters are indexed */
    List<VhostUserPort> ports();

    /** @return queue pairs counted per port */
    int queuePairs();

    /**
     * @param port index in {@link #ports()}
     * @param queuePair the queue pair
     * @return its counters
     */
    QueueCounters counters(int port, int queuePair);

    /** @return whether whatever moves the packets still runs */
    boolean isRunning();

    /**
     * @param server a server
     * @return its ports and counters, as a source of metrics
     */
    static MetricsSource of(PortServer server) {
        Objects.requireNonNull(server, "server");
        return new MetricsSource() {
            @Override
            public List<VhostUserPort> ports() {
                return server.ports();
            }

            @Override
            public int queuePairs() {
                return server.queuePairs();
            }

            @Override
            public QueueCounters counters(int port, int queuePair) {
                return server.counters(port, queuePair);
            }

            @Override
            public boolean isRunning() {
                return server.isRunning();
            }
        };
    }
}
