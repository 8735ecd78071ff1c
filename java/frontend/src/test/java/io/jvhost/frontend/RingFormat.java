package io.jvhost.frontend;

/** The two virtqueue formats the frontend drives, for tests parameterized over them. */
enum RingFormat {
    SPLIT,
    PACKED;

    /** @return {@code b} asking for this format */
    VirtioNetFrontend.Builder apply(VirtioNetFrontend.Builder b) {
        return b.packed(this == PACKED);
    }

    /**
     * @return the IOMMU mode in which traffic on this format loses nothing against DPDK 22.11:
     *     QEMU's (buffers mapped lazily) for split rings; eager for packed rings, where DPDK 22.11
     *     loses a guest transmit frame whose buffer misses (PackedIommuTest)
     */
    IommuMode lossFreeIommu() {
        return this == SPLIT ? IommuMode.QEMU : IommuMode.EAGER;
    }
}
