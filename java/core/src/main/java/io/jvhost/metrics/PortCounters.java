package io.jvhost.metrics;

import io.jvhost.loop.EventLoop;
import io.jvhost.loop.PortQueue;
import io.jvhost.serve.QueueCounters;
import io.jvhost.vhost.VhostUserPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The counters an application's own packet loop keeps, for the metrics: a {@link QueueCounters}
 * per port and queue pair, written by the thread that owns the queue pair (a
 * {@link io.jvhost.loop.BurstHandler}) and read by JMX, Prometheus or JSON from any thread.
 *
 * <pre>{@code
 * PortCounters counters = PortCounters.of(loop);
 * BurstHandler handler = (device, q, batch, received) -> {
 *     counters.of(device.port(), q).addRx(received, bytes);
 *     ...
 * };
 * try (JmxMetrics jmx = JmxMetrics.register(counters)) { ... }
 * }</pre>
 */
public final class PortCounters implements MetricsSource {
    private final VhostUserPort[] ports;
    private final int queuePairs;
    private final QueueCounters[][] counters;
    private final BooleanSupplier running;

    private PortCounters(List<VhostUserPort> ports, int queuePairs, BooleanSupplier running) {
        if (ports.isEmpty()) {
            throw new IllegalArgumentException("no port to count");
        }
        if (queuePairs < 1) {
            throw new IllegalArgumentException("queue pairs must be at least 1: " + queuePairs);
        }
        int servable = ports.stream().mapToInt(VhostUserPort::maxQueuePairs).max().getAsInt();
        if (queuePairs > servable) {
            // Counting queue pairs no port serves would only allocate counters nobody writes.
            throw new IllegalArgumentException("queue pairs " + queuePairs + " exceed the "
                    + servable + " the ports serve at most");
        }
        this.ports = ports.toArray(new VhostUserPort[0]);
        this.queuePairs = queuePairs;
        this.running = running;
        this.counters = new QueueCounters[this.ports.length][queuePairs];
        for (QueueCounters[] perPort : counters) {
            for (int q = 0; q < queuePairs; q++) {
                perPort[q] = new QueueCounters();
            }
        }
    }

    /**
     * @param ports the ports, each once
     * @param queuePairs queue pairs per port, 1 to the highest {@link VhostUserPort#maxQueuePairs()}
     *     of the ports
     * @return zeroed counters; {@link #isRunning()} is always true
     * @throws IllegalArgumentException if no port is given, a port is listed twice or the queue
     *     pairs are out of range
     */
    public static PortCounters of(List<VhostUserPort> ports, int queuePairs) {
        List<VhostUserPort> copy = List.copyOf(ports);
        if (copy.stream().distinct().count() != copy.size()) {
            throw new IllegalArgumentException("a port is listed twice: " + copy);
        }
        return new PortCounters(copy, queuePairs, () -> true);
    }

    /**
     * @param loop a loop
     * @return zeroed counters for each port the loop polls, as many queue pairs as its highest
     *     queue pair needs; running while the loop runs
     */
    public static PortCounters of(EventLoop loop) {
        Objects.requireNonNull(loop, "loop");
        List<VhostUserPort> ports = new ArrayList<>();
        int queuePairs = 1;
        for (PortQueue pq : loop.queues()) {
            if (!ports.contains(pq.port())) {
                ports.add(pq.port());
            }
            queuePairs = Math.max(queuePairs, pq.queuePair() + 1);
        }
        return new PortCounters(ports, queuePairs, loop::isRunning);
    }

    /**
     * The counters of a port's queue pair, for the thread that owns it; no allocation.
     *
     * @param port one of {@link #ports()}
     * @param queuePair the queue pair
     * @return its counters
     * @throws IllegalArgumentException if the port is not counted here or the queue pair is out of range
     */
    public QueueCounters of(VhostUserPort port, int queuePair) {
        for (int p = 0; p < ports.length; p++) {
            if (ports[p] == port) {
                return counters(p, queuePair);
            }
        }
        throw new IllegalArgumentException(port + " is not counted here");
    }

    @Override
    public List<VhostUserPort> ports() {
        return List.of(ports);
    }

    @Override
    public int queuePairs() {
        return queuePairs;
    }

    @Override
    public QueueCounters counters(int port, int queuePair) {
        Objects.checkIndex(port, ports.length);
        if (queuePair < 0 || queuePair >= queuePairs) {
            throw new IllegalArgumentException("queue pair " + queuePair + " outside 0.." + (queuePairs - 1));
        }
        return counters[port][queuePair];
    }

    @Override
    public boolean isRunning() {
        return running.getAsBoolean();
    }
}
