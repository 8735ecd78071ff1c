package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.VhostIotlbMsg;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Record of every IOTLB message exchanged by a {@link VirtualIommu}: each MISS the backend sent,
 * each UPDATE and INVALIDATE the frontend sent, with why and with the backend's ack. Tests and the
 * demo read it; it is thread-safe.
 */
public final class IotlbLog {
    /** What kind of IOTLB message. */
    public enum Type {
        /** The backend missed a translation (received on the backend-request channel). */
        MISS,
        /** The frontend sent a translation. */
        UPDATE,
        /** The frontend withdrew translations. */
        INVALIDATE
    }

    /** Why an UPDATE was sent. */
    public enum Cause {
        /** Not an UPDATE. */
        NONE,
        /** Answer to a MISS. */
        MISS,
        /** Pre-sent for a used ring after the vrings were set up, as QEMU does. */
        PRESEND_USED_RING,
        /** Pre-sent by eager mode for every mapping. */
        EAGER,
        /** Sent by an explicit {@link VirtualIommu#update} call. */
        EXPLICIT
    }

    /** How a MISS was answered. */
    public enum MissOutcome {
        /** Not a MISS. */
        NONE,
        /** Mapped with enough permission: an UPDATE was sent. */
        ANSWERED,
        /** Nothing is mapped at the address: no UPDATE (as QEMU does). */
        NOT_MAPPED,
        /** Mapped, but without the access the backend asked for: no UPDATE (as QEMU does). */
        PERMISSION_DENIED
    }

    /**
     * One IOTLB message.
     *
     * @param seq order of recording, from 0
     * @param nanos {@link System#nanoTime()} when received (MISS) or acked (UPDATE, INVALIDATE)
     * @param type kind
     * @param iova first IO virtual address
     * @param size bytes (0 for a MISS)
     * @param uaddr frontend userspace address (UPDATE), else 0
     * @param perm the {@link Access} wire value: asked for (MISS, as the backend sent it) or granted
     *        (UPDATE); 0 for INVALIDATE
     * @param cause why an UPDATE was sent
     * @param outcome how a MISS was answered
     * @param ack the backend's REPLY_ACK value for UPDATE and INVALIDATE (0 accepted)
     * @param latencyNanos for an UPDATE answering a MISS: from reading the MISS to the UPDATE's
     *        ack; else 0
     */
    public record Event(long seq, long nanos, Type type, long iova, long size, long uaddr, int perm, Cause cause,
            MissOutcome outcome, long ack, long latencyNanos) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append('#').append(seq).append(' ').append(type).append(" iova=0x").append(Long.toHexString(iova));
            if (size != 0) {
                sb.append(" size=0x").append(Long.toHexString(size));
            }
            if (type != Type.INVALIDATE) {
                sb.append(" perm=").append(Access.nameOf(perm));
            }
            if (type == Type.MISS) {
                sb.append(' ').append(outcome);
            }
            if (type == Type.UPDATE) {
                sb.append(" uaddr=0x").append(Long.toHexString(uaddr)).append(" cause=").append(cause);
                if (latencyNanos > 0) {
                    sb.append(" rtt=").append(latencyNanos / 1000).append("us");
                }
            }
            if (ack != 0) {
                sb.append(" NACK=").append(ack);
            }
            return sb.toString();
        }
    }

    private final List<Event> events = new ArrayList<>();

    synchronized Event add(long nanos, Type type, long iova, long size, long uaddr, int perm, Cause cause,
            MissOutcome outcome, long ack, long latencyNanos) {
        Event e = new Event(events.size(), nanos, type, iova, size, uaddr, perm, cause, outcome, ack, latencyNanos);
        events.add(e);
        return e;
    }

    /** @return a copy of all events, in order */
    public synchronized List<Event> events() {
        return new ArrayList<>(events);
    }

    /**
     * @param fromSeq first sequence number wanted
     * @return a copy of the events with {@code seq >= fromSeq}
     */
    public synchronized List<Event> since(long fromSeq) {
        return new ArrayList<>(events.subList((int) Math.min(fromSeq, events.size()), events.size()));
    }

    /**
     * Hands the UPDATE and INVALIDATE messages the frontend sent, from {@code fromSeq} on, to
     * {@code sink} in order: e.g. {@code IotlbModelMirror::apply}, to keep a model of the backend's
     * IOTLB in step.
     *
     * @param fromSeq first sequence number wanted
     * @param sink what gets them
     * @return the sequence number after the last event looked at: the next call's {@code fromSeq}
     */
    public long replay(long fromSeq, java.util.function.Consumer<VhostIotlbMsg> sink) {
        long next = fromSeq;
        for (Event e : since(fromSeq)) {
            if (e.type() == Type.UPDATE) {
                sink.accept(VhostIotlbMsg.update(e.iova(), e.size(), e.uaddr(), Access.ofWire(e.perm())));
            } else if (e.type() == Type.INVALIDATE) {
                sink.accept(VhostIotlbMsg.invalidate(e.iova(), e.size()));
            }
            next = e.seq() + 1;
        }
        return next;
    }

    /** @return sequence number the next event will get */
    public synchronized long nextSeq() {
        return events.size();
    }

    /**
     * @param filter which events
     * @return how many recorded events match
     */
    public synchronized long count(Predicate<Event> filter) {
        return events.stream().filter(filter).count();
    }

    /**
     * @param type kind
     * @return how many events of that kind
     */
    public long count(Type type) {
        return count(e -> e.type() == type);
    }
}
