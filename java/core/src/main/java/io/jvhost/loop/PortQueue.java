package io.jvhost.loop;

import io.jvhost.vhost.VhostUserPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One queue pair of one port: what an {@link EventLoop} thread owns and polls.
 *
 * @param port the port
 * @param queuePair the queue pair, 0 to {@code port.maxQueuePairs() - 1}
 */
public record PortQueue(VhostUserPort port, int queuePair) {
    /**
     * @param port the port
     * @param queuePair the queue pair, 0 to {@code port.maxQueuePairs() - 1}
     * @throws IllegalArgumentException if the port has no such queue pair
     */
    public PortQueue {
        Objects.requireNonNull(port, "port");
        if (queuePair < 0 || queuePair >= port.maxQueuePairs()) {
            throw new IllegalArgumentException("queue pair " + queuePair + " outside 0.." + (port.maxQueuePairs() - 1)
                    + " of " + port);
        }
    }

    /**
     * @param ports ports
     * @return every queue pair of each port, port by port
     */
    public static List<PortQueue> all(List<VhostUserPort> ports) {
        List<PortQueue> all = new ArrayList<>();
        for (VhostUserPort p : ports) {
            for (int q = 0; q < p.maxQueuePairs(); q++) {
                all.add(new PortQueue(p, q));
            }
        }
        return List.copyOf(all);
    }
}
