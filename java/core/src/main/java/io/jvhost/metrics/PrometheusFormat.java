package io.jvhost.metrics;

import java.util.List;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * Writes a {@link ServerSnapshot} in Prometheus' text exposition format 0.0.4: per queue pair the
 * counters {@code jvhost_rx_packets_total}, {@code jvhost_rx_bytes_total},
 * {@code jvhost_tx_packets_total}, {@code jvhost_tx_bytes_total},
 * {@code jvhost_dropped_packets_total}, {@code jvhost_iotlb_hits_total},
 * {@code jvhost_iotlb_misses_total} (labels {@code port} = socket path, {@code queue}); per port the
 * gauges {@code jvhost_port_open}, {@code jvhost_port_connected}, {@code jvhost_port_vid} and
 * {@code jvhost_port_feature} (1 per negotiated virtio feature, label {@code feature}).
 */
public final class PrometheusFormat {
    /** The Content-Type of this format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final List<Counter> COUNTERS = List.of(
            new Counter("jvhost_rx_packets_total", "Packets received from the guest (dequeued).", QueueSnapshot::rxPackets),
            new Counter("jvhost_rx_bytes_total", "Bytes received from the guest.", QueueSnapshot::rxBytes),
            new Counter("jvhost_tx_packets_total", "Packets sent to the guest (enqueued).", QueueSnapshot::txPackets),
            new Counter("jvhost_tx_bytes_total", "Bytes sent to the guest.", QueueSnapshot::txBytes),
            new Counter("jvhost_dropped_packets_total", "Packets received and freed unsent.", QueueSnapshot::dropped),
            new Counter("jvhost_iotlb_hits_total", "IOTLB hits of the current device's vrings.", QueueSnapshot::iotlbHits),
            new Counter("jvhost_iotlb_misses_total", "IOTLB misses of the current device's vrings.",
                    QueueSnapshot::iotlbMisses));

    private PrometheusFormat() {
    }

    private record Counter(String name, String help, ToLongFunction<QueueSnapshot> value) {
    }

    /**
     * @param snapshot what to write
     * @return it in the text format, each line ending in a newline
     */
    public static String format(ServerSnapshot snapshot) {
        StringBuilder b = new StringBuilder(1024);
        write(snapshot, b);
        return b.toString();
    }

    /**
     * @param snapshot what to write
     * @param out where to append it, each line ending in a newline
     */
    public static void write(ServerSnapshot snapshot, StringBuilder out) {
        Objects.requireNonNull(snapshot, "snapshot");
        for (Counter c : COUNTERS) {
            header(out, c.name(), c.help(), "counter");
            for (PortSnapshot p : snapshot.ports()) {
                for (QueueSnapshot q : p.queues()) {
                    out.append(c.name()).append("{port=\"").append(escapeLabel(p.socket())).append("\",queue=\"")
                            .append(q.queuePair()).append("\"} ").append(c.value().applyAsLong(q)).append('\n');
                }
            }
        }
        header(out, "jvhost_port_open", "1 if the port is open.", "gauge");
        for (PortSnapshot p : snapshot.ports()) {
            portLine(out, "jvhost_port_open", p, p.open() ? 1 : 0);
        }
        header(out, "jvhost_port_connected", "1 if a frontend's device is ready on the port.", "gauge");
        for (PortSnapshot p : snapshot.ports()) {
            portLine(out, "jvhost_port_connected", p, p.connected() ? 1 : 0);
        }
        header(out, "jvhost_port_vid", "DPDK's id of the port's current device, -1 if none.", "gauge");
        for (PortSnapshot p : snapshot.ports()) {
            portLine(out, "jvhost_port_vid", p, p.vid());
        }
        header(out, "jvhost_port_feature", "1 for each virtio feature negotiated with the current frontend.", "gauge");
        for (PortSnapshot p : snapshot.ports()) {
            for (String f : p.featureNames()) {
                out.append("jvhost_port_feature{port=\"").append(escapeLabel(p.socket())).append("\",feature=\"")
                        .append(escapeLabel(f)).append("\"} 1\n");
            }
        }
    }

    private static void header(StringBuilder out, String name, String help, String type) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void portLine(StringBuilder out, String name, PortSnapshot p, long value) {
        out.append(name).append("{port=\"").append(escapeLabel(p.socket())).append("\"} ").append(value).append('\n');
    }

    /**
     * @param value a label value
     * @return it escaped for the text format: backslash, double quote and line feed
     */
    public static String escapeLabel(String value) {
        StringBuilder b = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
