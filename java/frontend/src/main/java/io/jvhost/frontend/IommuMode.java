package io.jvhost.frontend;

/** Whether and how the frontend uses a virtual IOMMU ({@code VIRTIO_F_IOMMU_PLATFORM}). */
public enum IommuMode {
    /** No IOMMU: ring addresses are frontend userspace addresses, descriptors carry GPAs. */
    OFF,
    /** IOMMU on, nothing pre-sent: every translation reaches the backend as the answer to a MISS. */
    LAZY,
    /**
     * IOMMU on, like QEMU: after the vrings are set up, an UPDATE for each vring's used ring is
     * pre-sent; everything else is answered on MISS.
     */
    QEMU,
    /** IOMMU on, every mapping pre-sent as UPDATEs before the rings are enabled. */
    EAGER;

    /** @return whether VIRTIO_F_IOMMU_PLATFORM is negotiated */
    public boolean enabled() {
        return this != OFF;
    }
}
