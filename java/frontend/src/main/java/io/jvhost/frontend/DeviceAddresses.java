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

    /** Maps a vring's three areas (each in whole pages) RW in the IOMMU, if there is one. */
    void mapRings(Vring v) {
        map(v.descGpa(), roundPage(v.descBytes()), Access.RW);
        map(v.driverGpa(), roundPage(v.driverBytes()), Access.RW);
        map(v.deviceGpa(), roundPage(v.deviceBytes()), Access.RW);
    }

    /**
     * @return the layout of a vring whose buffers lie in [lo, hi); for a packed vring its avail and
     *         used addresses are those of the driver and device event suppression areas
     */
    VringLayout layout(Vring v, long lo, long hi) {
        return new VringLayout(v.index(), v.size(), ring(v.descGpa()), ring(v.driverGpa()), ring(v.deviceGpa()),
                v.descGpa(), v.driverGpa(), v.deviceGpa(), dev(lo), lo, hi - lo);
    }
}
