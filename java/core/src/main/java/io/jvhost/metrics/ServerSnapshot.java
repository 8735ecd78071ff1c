package io.jvhost.metrics;

import io.jvhost.serve.PortServer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Every port of a {@link PortServer} at one moment. Reads are cheap (a few native calls per port
 * for the device's view and IOTLB statistics) and safe from any thread, at any time, also after the
 * server, its ports or EAL closed.
 *
 * @param time wall-clock time of the reading
 * @param nanos {@link System#nanoTime()} of the reading, for rates
 * @param ports the ports, in the server's order
 */
public record ServerSnapshot(Instant time, long nanos, List<PortSnapshot> ports) {

    /**
     * Copies {@code ports}: the record stays immutable.
     *
     * @param time wall-clock time of the reading
     * @param nanos {@link System#nanoTime()} of the reading
     * @param ports the ports, in the server's order
     */
    public ServerSnapshot {
        Objects.requireNonNull(time, "time");
        ports = List.copyOf(ports);
    }

    /**
     * @param server the server
     * @return its ports now
     */
    public static ServerSnapshot of(PortServer server) {
        return of(MetricsSource.of(server));
    }

    /**
     * @param server the ports and counters (e.g. an application's {@link PortCounters})
     * @return its ports now
     */
    public static ServerSnapshot of(MetricsSource server) {
        Objects.requireNonNull(server, "source");
        long nanos = System.nanoTime();
        Instant time = Instant.now();
        List<PortSnapshot> ports = new ArrayList<>(server.ports().size());
        for (int p = 0; p < server.ports().size(); p++) {
            ports.add(PortSnapshot.of(server, p));
        }
        return new ServerSnapshot(time, nanos, ports);
    }
}
