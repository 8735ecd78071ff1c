package io.jvhost.metrics;

import java.util.Locale;
import java.util.Objects;

/**
 * One-line JSON records of a {@link ServerSnapshot}, for scripts: the time (ISO-8601, UTC), the
 * seconds since the previous snapshot, and per port its state and per queue pair the counters and
 * their rates over that interval:
 *
 * <pre>{@code
 * {"time":"2026-12-06T19:40:01.002Z","interval_s":1.000,"ports":[{"port":0,"socket":"/tmp/vhost0.sock",
 *  "open":true,"connected":true,"vid":0,"queues":[{"queue":0,"rx_packets":1024,"rx_bytes":61440,
 *  "tx_packets":1024,"tx_bytes":61440,"dropped":0,"iotlb_hits":0,"iotlb_misses":0,"rx_pps":1024.000,
 *  "rx_bps":491520.000,"tx_pps":1024.000,"tx_bps":491520.000}]}]}
 * }</pre>
 *
 * (one line in reality). Rates are packets and bits per second, 0 without a previous snapshot.
 */
public final class JsonStats {
    private JsonStats() {
    }

    /**
     * @param previous the snapshot the rates start from, or null
     * @param current the snapshot to write
     * @return one JSON object, without a line end
     */
    public static String line(ServerSnapshot previous, ServerSnapshot current) {
        return line(previous, current, false);
    }

    /**
     * The record of a whole run: as {@link #line}, with {@code "final":true} after the time.
     *
     * @param first the snapshot at the start, or null
     * @param last the snapshot at the end
     * @return one JSON object, without a line end
     */
    public static String finalLine(ServerSnapshot first, ServerSnapshot last) {
        return line(first, last, true);
    }

    private static String line(ServerSnapshot previous, ServerSnapshot current, boolean last) {
        Objects.requireNonNull(current, "current");
        double secs = previous == null ? 0 : (current.nanos() - previous.nanos()) / 1e9;
        StringBuilder b = new StringBuilder(256);
        b.append("{\"time\":").append(quote(current.time().toString()));
        if (last) {
            b.append(",\"final\":true");
        }
        b.append(",\"interval_s\":").append(number(secs));
        b.append(",\"ports\":[");
        for (int i = 0; i < current.ports().size(); i++) {
            PortSnapshot p = current.ports().get(i);
            PortSnapshot pp = previous != null && i < previous.ports().size() ? previous.ports().get(i) : null;
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"port\":").append(p.index());
            b.append(",\"socket\":").append(quote(p.socket()));
            b.append(",\"open\":").append(p.open());
            b.append(",\"connected\":").append(p.connected());
            b.append(",\"vid\":").append(p.vid());
            b.append(",\"queues\":[");
            for (int j = 0; j < p.queues().size(); j++) {
                QueueSnapshot q = p.queues().get(j);
                QueueSnapshot pq = pp != null && j < pp.queues().size() ? pp.queues().get(j) : null;
                if (j > 0) {
                    b.append(',');
                }
                b.append("{\"queue\":").append(q.queuePair());
                b.append(",\"rx_packets\":").append(q.rxPackets());
                b.append(",\"rx_bytes\":").append(q.rxBytes());
                b.append(",\"tx_packets\":").append(q.txPackets());
                b.append(",\"tx_bytes\":").append(q.txBytes());
                b.append(",\"dropped\":").append(q.dropped());
                b.append(",\"iotlb_hits\":").append(q.iotlbHits());
                b.append(",\"iotlb_misses\":").append(q.iotlbMisses());
                b.append(",\"rx_pps\":").append(rate(pq == null ? 0 : q.rxPackets() - pq.rxPackets(), secs));
                b.append(",\"rx_bps\":").append(rate(pq == null ? 0 : (q.rxBytes() - pq.rxBytes()) * 8, secs));
                b.append(",\"tx_pps\":").append(rate(pq == null ? 0 : q.txPackets() - pq.txPackets(), secs));
                b.append(",\"tx_bps\":").append(rate(pq == null ? 0 : (q.txBytes() - pq.txBytes()) * 8, secs));
                b.append('}');
            }
            b.append("]}");
        }
        return b.append("]}").toString();
    }

    private static String rate(long delta, double secs) {
        return number(secs > 0 ? delta / secs : 0);
    }

    /** JSON has no NaN or infinity: such values (which a sane interval never gives) become 0. */
    private static String number(double v) {
        return String.format(Locale.ROOT, "%.3f", Double.isFinite(v) ? v : 0.0);
    }

    /**
     * @param s a string
     * @return it as a JSON string literal: quotes, backslash and control characters escaped
     */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
