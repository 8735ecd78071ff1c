package io.jvhost.cli;

import io.jvhost.metrics.PortSnapshot;
import io.jvhost.metrics.QueueSnapshot;
import io.jvhost.metrics.ServerSnapshot;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * serve's human-readable statistics, from the same {@link ServerSnapshot}s as the JSON lines, the
 * JMX beans and the Prometheus endpoint: one reading of the counters, whatever the format.
 */
final class TextStats {
    private TextStats() {
    }

    /** Whether any counter moved or any port has a frontend: otherwise a period's lines say nothing. */
    static boolean worthPrinting(ServerSnapshot previous, ServerSnapshot current) {
        for (int i = 0; i < current.ports().size(); i++) {
            PortSnapshot p = current.ports().get(i);
            if (p.connected() || !p.queues().equals(previous.ports().get(i).queues())) {
                return true;
            }
        }
        return false;
    }

    /** One line per port and queue pair: the rates between two snapshots, the totals of drops and IOTLB. */
    static void printRates(PrintWriter out, ServerSnapshot previous, ServerSnapshot current) {
        double secs = (current.nanos() - previous.nanos()) / 1e9;
        for (int i = 0; i < current.ports().size(); i++) {
            PortSnapshot p = current.ports().get(i);
            for (int j = 0; j < p.queues().size(); j++) {
                QueueSnapshot x = previous.ports().get(i).queues().get(j);
                QueueSnapshot y = p.queues().get(j);
                out.printf(Locale.ROOT, "port%d q%d: rx %8.3f Mpps %7.3f Gbit/s | tx %8.3f Mpps %7.3f Gbit/s | drops %d"
                        + " | iotlb hits %d misses %d%n", p.index(), y.queuePair(),
                        (y.rxPackets() - x.rxPackets()) / secs / 1e6, (y.rxBytes() - x.rxBytes()) * 8 / secs / 1e9,
                        (y.txPackets() - x.txPackets()) / secs / 1e6, (y.txBytes() - x.txBytes()) * 8 / secs / 1e9,
                        y.dropped(), y.iotlbHits(), y.iotlbMisses());
            }
        }
        out.flush();
    }

    /** The run's totals, one line per port and queue pair. */
    static void printTotals(PrintWriter out, ServerSnapshot last, double secs) {
        out.printf(Locale.ROOT, "final after %.1f s:%n", secs);
        for (PortSnapshot p : last.ports()) {
            for (QueueSnapshot q : p.queues()) {
                out.printf("port%d q%d: rx %d packets %d bytes | tx %d packets %d bytes | dropped %d%n", p.index(),
                        q.queuePair(), q.rxPackets(), q.rxBytes(), q.txPackets(), q.txBytes(), q.dropped());
            }
        }
    }
}
