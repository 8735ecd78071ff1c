package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.VhostIotlbMsg;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A virtual IOMMU in front of {@link GuestMemory}: maps IO virtual address (IOVA) ranges to guest
 * physical ranges with read/write permissions, and plays QEMU's part of the vhost-user IOTLB
 * protocol.
 *
 * <ul>
 * <li>{@link #map}/{@link #unmap} change the page table, as a guest driver does through the
 * IOMMU. {@code map} tells the backend nothing (the backend learns translations on demand);
 * {@code unmap} sends an INVALIDATE.
 * <li>A MISS from the backend is answered with an UPDATE covering the {@link #granule() granule}
 * that holds the address (clipped to the mapping and to its memory region) when the address is
 * mapped with the permission asked for; otherwise nothing is sent, as QEMU does (the backend keeps
 * the miss pending and does not ask again for the same address and access).
 * <li>{@link #invalidate} drops translations in the backend at any time (the mapping stays, so the
 * next use misses again); {@link #update} pre-sends translations (eager mode).
 * </ul>
 * Every IOTLB message asks for REPLY_ACK (when negotiated) and the ack is checked and recorded in
 * the {@link #log()}. Thread-safe.
 */
public final class VirtualIommu implements BackendRequestHandler {
    private static final Logger LOG = System.getLogger(VirtualIommu.class.getName());

    /**
     * One mapping: IOVA range to guest physical range.
     *
     * @param iova first IO virtual address
     * @param gpa first guest physical address
     * @param size bytes
     * @param perm access rights (RO, WO or RW)
     */
    public record Mapping(long iova, long gpa, long size, Access perm) {
        /** @return one past the last IOVA */
        public long end() {
            return iova + size;
        }
    }

    private final GuestMemory memory;
    private final long granule;
    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();
    private final IotlbLog log = new IotlbLog();
    private volatile VhostUserConnection connection;

    /*
     * IOTLB messages leave in the order the mappings changed: a MISS is looked up and answered,
     * and an unmap changes the mappings and sends its INVALIDATE, each under this lock. Without
     * it, a MISS looked up just before an unmap was answered just after its INVALIDATE, with the
     * old permission: the backend kept a stale RW translation of a page the guest had made RO
     * (IommuTest.readOnlyReceiveBufferIsNeverWritten caught it under load). QEMU serializes the
     * same way on its IOMMU lock.
     */
    private final java.util.concurrent.locks.ReentrantLock messageOrder = new java.util.concurrent.locks.ReentrantLock();

    /**
     * @param memory the memory mapped through this IOMMU
     * @param granule size of the translation sent per UPDATE: a power of two of at least 4 KiB (a
     *        page of the IOMMU), or 0 for whole mappings
     */
    public VirtualIommu(GuestMemory memory, long granule) {
        if (granule != 0 && (Long.bitCount(granule) != 1 || granule < GuestMemory.PAGE_SIZE)) {
            throw new IllegalArgumentException("granule must be 0 or a power of two >= 4096, got " + granule);
        }
        this.memory = memory;
        this.granule = granule;
    }

    /** @return bytes per UPDATE (0: whole mappings) */
    public long granule() {
        return granule;
    }

    /** @return the record of IOTLB messages */
    public IotlbLog log() {
        return log;
    }

    /** Attaches the connection IOTLB messages go to (done by the device). */
    void attach(VhostUserConnection c) {
        this.connection = c;
    }

    /**
     * Maps {@code [iova, iova+size)} to {@code [gpa, gpa+size)}. Tells the backend nothing.
     *
     * @param iova page-aligned IOVA
     * @param gpa page-aligned guest physical address inside guest memory
     * @param size whole pages
     * @param perm access rights: RO, WO or RW
     * @throws IllegalArgumentException if unaligned, outside memory or overlapping a mapping, or
     *     {@code perm} is {@link Access#NONE}
     */
    public synchronized void map(long iova, long gpa, long size, Access perm) {
        Access.requireSome(perm);
        long page = GuestMemory.PAGE_SIZE;
        if (size <= 0 || iova % page != 0 || gpa % page != 0 || size % page != 0) {
            throw new IllegalArgumentException(String.format(
                    "map(iova=0x%x, gpa=0x%x, size=0x%x): all must be page-aligned and size positive", iova, gpa, size));
        }
        if (iova + size < iova) {
            throw new IllegalArgumentException("IOVA range wraps: 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size));
        }
        GuestMemory.Region first = memory.regionOf(gpa);
        long g = gpa;
        while (g < gpa + size) {
            GuestMemory.Region r = memory.regionOf(g);
            g = r.guestPhysAddr() + r.size();
        }
        if (first == null) {
            throw new IllegalArgumentException("GPA outside memory");
        }
        Map.Entry<Long, Mapping> below = mappings.floorEntry(iova + size - 1);
        if (below != null && below.getValue().end() > iova) {
            throw new IllegalArgumentException(String.format("map(iova=0x%x, size=0x%x) overlaps %s", iova, size,
                    below.getValue()));
        }
        mappings.put(iova, new Mapping(iova, gpa, size, perm));
    }

    /**
     * Removes whatever is mapped in {@code [iova, iova+size)} (splitting mappings at the edges) and
     * sends an INVALIDATE for the range when connected.
     *
     * @param iova first IOVA (page-aligned)
     * @param size bytes (whole pages)
     * @throws VhostUserException if the backend refuses the INVALIDATE or the connection fails
     */
    public void unmap(long iova, long size) throws VhostUserException {
        if (iova % GuestMemory.PAGE_SIZE != 0 || size % GuestMemory.PAGE_SIZE != 0 || size <= 0) {
            throw new IllegalArgumentException(String.format("unmap(0x%x, 0x%x): must be whole pages", iova, size));
        }
        messageOrder.lock();
        try {
            unmapLocked(iova, size);
            invalidate(iova, size);
        } finally {
            messageOrder.unlock();
        }
    }

    private void unmapLocked(long iova, long size) {
        synchronized (this) {
            long end = iova + size;
            List<Mapping> hit = new ArrayList<>();
            Map.Entry<Long, Mapping> first = mappings.floorEntry(iova);
            if (first != null && first.getValue().end() > iova) {
                hit.add(first.getValue());
            }
            hit.addAll(mappings.subMap(iova, false, end, false).values());
            if (mappings.containsKey(iova) && !hit.contains(mappings.get(iova))) {
                hit.add(mappings.get(iova));
            }
            for (Mapping m : hit) {
                mappings.remove(m.iova());
                if (m.iova() < iova) {
                    mappings.put(m.iova(), new Mapping(m.iova(), m.gpa(), iova - m.iova(), m.perm()));
                }
                if (m.end() > end) {
                    long cut = end - m.iova();
                    mappings.put(end, new Mapping(end, m.gpa() + cut, m.size() - cut, m.perm()));
                }
            }
        }
    }

    /**
     * Sends an INVALIDATE for {@code [iova, iova+size)}; mappings stay, so the backend's next use
     * misses and is answered again. Does nothing when not connected.
     *
     * @param iova first IOVA
     * @param size bytes
     * @throws VhostUserException if the backend refuses it or the connection fails
     */
    public void invalidate(long iova, long size) throws VhostUserException {
        VhostUserConnection c = connection;
        if (c == null) {
            return;
        }
        long ack;
        messageOrder.lock();
        try {
            ack = c.sendIotlb(VhostIotlbMsg.invalidate(iova, size));
            log.add(System.nanoTime(), IotlbLog.Type.INVALIDATE, iova, size, 0, 0, IotlbLog.Cause.NONE,
                    IotlbLog.MissOutcome.NONE, ack, 0);
        } finally {
            messageOrder.unlock();
        }
        if (ack != 0) {
            throw new VhostUserException(String.format("backend refused INVALIDATE iova=0x%x size=0x%x (ack %d)", iova,
                    size, ack));
        }
    }

    /**
     * Sends UPDATEs (one per granule) for everything mapped in {@code [iova, iova+size)}.
     *
     * @param iova first IOVA
     * @param size bytes
     * @throws VhostUserException if the backend refuses one or the connection fails
     */
    public void update(long iova, long size) throws VhostUserException {
        update(iova, size, IotlbLog.Cause.EXPLICIT);
    }

    void update(long iova, long size, IotlbLog.Cause cause) throws VhostUserException {
        messageOrder.lock();
        try {
            updateLocked(iova, size, cause);
        } finally {
            messageOrder.unlock();
        }
    }

    private void updateLocked(long iova, long size, IotlbLog.Cause cause) throws VhostUserException {
        VhostUserConnection c = connection;
        if (c == null) {
            throw new IllegalStateException("IOMMU not attached to a connection");
        }
        long end = iova + size;
        for (Mapping m : mappingsIn(iova, end)) {
            long a = Math.max(iova, m.iova());
            long stop = Math.min(end, m.end());
            while (a < stop) {
                long[] piece = piece(m, a);
                long ack = sendUpdate(c, m, piece[0], piece[1], cause, 0);
                if (ack != 0) {
                    throw new VhostUserException(String.format("backend refused UPDATE iova=0x%x size=0x%x (ack %d)",
                            piece[0], piece[1], ack));
                }
                a = piece[0] + piece[1];
            }
        }
    }

    /**
     * Pre-sends UPDATEs for every mapping (eager mode).
     *
     * @throws VhostUserException if the backend refuses one or the connection fails
     */
    public void updateAll() throws VhostUserException {
        for (Mapping m : mappings()) {
            update(m.iova(), m.size(), IotlbLog.Cause.EAGER);
        }
    }

    /** @return a snapshot of the mappings, in IOVA order */
    public synchronized List<Mapping> mappings() {
        return new ArrayList<>(mappings.values());
    }

    private synchronized List<Mapping> mappingsIn(long iova, long end) {
        List<Mapping> out = new ArrayList<>();
        Map.Entry<Long, Mapping> first = mappings.floorEntry(iova);
        if (first != null && first.getValue().end() > iova) {
            out.add(first.getValue());
        }
        for (Mapping m : mappings.subMap(iova, false, end, false).values()) {
            out.add(m);
        }
        return out;
    }

    /**
     * @param iova an IO virtual address
     * @return the mapping holding it
     */
    public synchronized Optional<Mapping> mappingAt(long iova) {
        Map.Entry<Long, Mapping> e = mappings.floorEntry(iova);
        if (e == null || e.getValue().end() <= iova) {
            return Optional.empty();
        }
        return Optional.of(e.getValue());
    }

    /**
     * Translates like the IOMMU would for a device access.
     *
     * @param iova IO virtual address
     * @param access the access wanted
     * @return the guest physical address, or -1 if unmapped or not permitted
     */
    public long translate(long iova, Access access) {
        Objects.requireNonNull(access, "access");
        Optional<Mapping> m = mappingAt(iova);
        if (m.isEmpty() || !m.get().perm().allows(access)) {
            return -1;
        }
        return m.get().gpa() + (iova - m.get().iova());
    }

    /** The UPDATE range for address {@code a} of mapping {@code m}: {start, size}. */
    private long[] piece(Mapping m, long a) {
        long start = m.iova();
        long end = m.end();
        if (granule != 0) {
            start = Math.max(start, a & -granule);
            end = Math.min(end, (a & -granule) + granule);
        }
        // keep the uaddr range inside one memory region (the backend truncates at region ends)
        GuestMemory.Region r = memory.regionOf(m.gpa() + (a - m.iova()));
        long regionStartIova = m.iova() + (r.guestPhysAddr() - m.gpa());
        long regionEndIova = regionStartIova + r.size();
        start = Math.max(start, regionStartIova);
        end = Math.min(end, regionEndIova);
        return new long[] {start, end - start};
    }

    private long sendUpdate(VhostUserConnection c, Mapping m, long iova, long size, IotlbLog.Cause cause,
            long missNanos) throws VhostUserException {
        long uaddr = memory.userAddr(m.gpa() + (iova - m.iova()));
        long ack = c.sendIotlb(VhostIotlbMsg.update(iova, size, uaddr, m.perm()));
        long now = System.nanoTime();
        log.add(now, IotlbLog.Type.UPDATE, iova, size, uaddr, m.perm().wire(), cause, IotlbLog.MissOutcome.NONE, ack,
                missNanos == 0 ? 0 : now - missNanos);
        return ack;
    }

    /** Answers the backend's MISS (called on the connection's backend-request thread). */
    @Override
    public long onIotlbMessage(VhostIotlbMsg msg, long receivedNanos) {
        long iova = msg.iova();
        int perm = msg.perm(); // as sent: any byte
        if (msg.type() != IotlbType.MISS.wire()) {
            LOG.log(Level.WARNING, "backend sent IOTLB message type {0} for iova 0x{1}", msg.type(),
                    Long.toHexString(iova));
            return 1;
        }
        messageOrder.lock();
        try {
            return answerMiss(iova, perm, receivedNanos);
        } finally {
            messageOrder.unlock();
        }
    }

    private long answerMiss(long iova, int perm, long receivedNanos) {
        Optional<Mapping> m = mappingAt(iova);
        IotlbLog.MissOutcome outcome = m.isEmpty() ? IotlbLog.MissOutcome.NOT_MAPPED
                : (m.get().perm().wire() & perm) != perm ? IotlbLog.MissOutcome.PERMISSION_DENIED
                        : IotlbLog.MissOutcome.ANSWERED;
        log.add(receivedNanos, IotlbLog.Type.MISS, iova, 0, 0, perm, IotlbLog.Cause.NONE, outcome, 0, 0);
        if (outcome != IotlbLog.MissOutcome.ANSWERED) {
            return 1;
        }
        VhostUserConnection c = connection;
        if (c == null) {
            return 1;
        }
        try {
            long[] piece = piece(m.get(), iova);
            long ack = sendUpdate(c, m.get(), piece[0], piece[1], IotlbLog.Cause.MISS, receivedNanos);
            return ack == 0 ? 0 : 1;
        } catch (VhostUserException e) {
            if (!c.isClosed()) {
                LOG.log(Level.WARNING, "cannot answer IOTLB miss at 0x" + Long.toHexString(iova) + ": " + e.getMessage());
            }
            return 1;
        }
    }
}
