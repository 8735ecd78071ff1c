package io.jvhost.serve;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters of one queue pair of one port, from the backend's view: rx = dequeued from the guest,
 * tx = enqueued to the guest. Written by one thread, the one serving the queue pair (opaque writes:
 * no fence on the data path, no allocation); readers on any thread see values at most a burst old,
 * and exact ones once the writer stopped. {@link PortServer} keeps one per port and queue pair; an
 * application's own loop gets them from {@code io.jvhost.metrics.PortCounters}.
 */
public final class QueueCounters {
    private static final VarHandle RX_PACKETS;
    private static final VarHandle RX_BYTES;
    private static final VarHandle TX_PACKETS;
    private static final VarHandle TX_BYTES;
    private static final VarHandle DROPPED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RX_PACKETS = l.findVarHandle(QueueCounters.class, "rxPackets", long.class);
            RX_BYTES = l.findVarHandle(QueueCounters.class, "rxBytes", long.class);
            TX_PACKETS = l.findVarHandle(QueueCounters.class, "txPackets", long.class);
            TX_BYTES = l.findVarHandle(QueueCounters.class, "txBytes", long.class);
            DROPPED = l.findVarHandle(QueueCounters.class, "dropped", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long rxPackets;
    private long rxBytes;
    private long txPackets;
    private long txBytes;
    private long dropped;

    /** Creates zeroed counters. */
    public QueueCounters() {
    }

    /**
     * Counts packets received from the guest; only the writer thread calls it.
     *
     * @param packets how many
     * @param bytes their bytes
     */
    public void addRx(long packets, long bytes) {
        RX_PACKETS.setOpaque(this, rxPackets + packets);
        RX_BYTES.setOpaque(this, rxBytes + bytes);
    }

    /**
     * Counts packets sent to the guest; only the writer thread calls it.
     *
     * @param packets how many
     * @param bytes their bytes
     */
    public void addTx(long packets, long bytes) {
        TX_PACKETS.setOpaque(this, txPackets + packets);
        TX_BYTES.setOpaque(this, txBytes + bytes);
    }

    /**
     * Counts packets received on this queue and freed unsent; only the writer thread calls it.
     *
     * @param packets how many
     */
    public void addDropped(long packets) {
        DROPPED.setOpaque(this, dropped + packets);
    }

    /** @return packets received from the guest */
    public long rxPackets() {
        return (long) RX_PACKETS.getOpaque(this);
    }

    /** @return bytes received from the guest */
    public long rxBytes() {
        return (long) RX_BYTES.getOpaque(this);
    }

    /** @return packets sent to the guest */
    public long txPackets() {
        return (long) TX_PACKETS.getOpaque(this);
    }

    /** @return bytes sent to the guest */
    public long txBytes() {
        return (long) TX_BYTES.getOpaque(this);
    }

    /**
     * @return packets received on this queue and freed unsent: the destination guest took none of
     *     them for the hold time, or its device went away
     */
    public long dropped() {
        return (long) DROPPED.getOpaque(this);
    }
}
