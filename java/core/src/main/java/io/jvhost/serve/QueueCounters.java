package io.jvhost.serve;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters of one queue pair of one port, from the backend's view: rx = dequeued from the guest,
 * tx = enqueued to the guest. Written by the serving thread only (opaque writes: no fence on the
 * data path); readers see values at most a burst old, and exact ones once the server stopped.
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

    void addRx(long packets, long bytes) {
        RX_PACKETS.setOpaque(this, rxPackets + packets);
        RX_BYTES.setOpaque(this, rxBytes + bytes);
    }

    void addTx(long packets, long bytes) {
        TX_PACKETS.setOpaque(this, txPackets + packets);
        TX_BYTES.setOpaque(this, txBytes + bytes);
    }

    void addDropped(long packets) {
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
