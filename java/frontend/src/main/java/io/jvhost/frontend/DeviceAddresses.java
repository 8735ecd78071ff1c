package io.jvhost.frontend;

import io.jvhost.protocol.Access;

/**
 * How the device (the backend) addresses the guest's memory: by IOVA ({@code GPA + iovaOffset},
 * mapped in the virtual IOMMU) when there is one, else by GPA for buffers and by the frontend's
 * userspace address for rings (what SET_VRING_ADDR carries without an IOMMU).
 */
final class DeviceAddresses {
    private final GuestMemory memory;
    private final VirtualIommu iommu;
    private final long iovaOffset;

    DeviceAddresses(GuestMemory memory, VirtualIommu iommu, long iovaOffset) {
        this.memory = memory;
        this.iommu = iommu;
        this.iovaOffset = iovaOffset;
    }

    static int roundPage(long n) {
        return (int) ((n + GuestMemory.PAGE_SIZE - 1) / GuestMemory.PAGE_SIZE * GuestMemory.PAGE_SIZE);
    }

    /** @return the device address of a buffer GPA: IOVA with the IOMMU, else the GPA itself */
    long dev(long gpa) {
        return iommu != null ? gpa + iovaOffset : gpa;
    }

    /** @return the address of a ring for SET_VRING_ADDR: IOVA with the IOMMU, else the userspace address */
    long ring(long gpa) {
        return iommu != null ? gpa + iovaOffset : memory.userAddr(gpa);
    }

    /** Maps a buffer in the IOMMU, if there is one. */
    void map(long gpa, long size, Access access) {
        if (iommu != null) {
            iommu.map(dev(gpa), gpa, size, access);
        }
    }

    /** Maps a virtqueue's three rings RW in the IOMMU, if there is one. */
    void mapRings(SplitVirtqueue vq) {
        map(vq.descGpa, roundPage(vq.descBytes()), Access.RW);
        map(vq.availGpa, roundPage(vq.availBytes()), Access.RW);
        map(vq.usedGpa, roundPage(vq.usedBytes()), Access.RW);
    }

    /** Maps a packed vring's descriptor ring and event suppression areas RW, if there is an IOMMU. */
    void mapRings(PackedRing r) {
        map(r.descGpa, roundPage(r.descBytes()), Access.RW);
        map(r.driverEventGpa, GuestMemory.PAGE_SIZE, Access.RW);
        map(r.deviceEventGpa, GuestMemory.PAGE_SIZE, Access.RW);
    }

    /**
     * @return the layout of a packed vring whose buffers lie in [lo, hi): its avail and used
     *         addresses are those of the driver and device event suppression areas
     */
    VringLayout layout(PackedRing r, long lo, long hi) {
        return new VringLayout(r.index, r.size, ring(r.descGpa), ring(r.driverEventGpa), ring(r.deviceEventGpa),
                r.descGpa, r.driverEventGpa, r.deviceEventGpa, dev(lo), lo, hi - lo);
    }

    /** @return the layout of a vring whose buffers lie in [lo, hi) */
    VringLayout layout(SplitVirtqueue vq, long lo, long hi) {
        return new VringLayout(vq.index, vq.size, ring(vq.descGpa), ring(vq.availGpa), ring(vq.usedGpa),
                vq.descGpa, vq.availGpa, vq.usedGpa, dev(lo), lo, hi - lo);
    }
}
