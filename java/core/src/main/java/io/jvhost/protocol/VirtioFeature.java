package io.jvhost.protocol;

/**
 * A virtio feature bit of a vhost-user device (GET_FEATURES, SET_FEATURES), for the virtio-net
 * devices DPDK's vhost library serves: the virtio specification's numbers, the vhost-user
 * specification's {@link #PROTOCOL_FEATURES} and vhost's {@link #LOG_ALL} (rust-vmm's
 * {@code VhostUserVirtioFeatures} holds the last two). Feature sets travel as u64 masks:
 * {@link FeatureBit#maskOf}, {@link FeatureBit#names}.
 */
public enum VirtioFeature implements FeatureBit {
    /** {@code VIRTIO_NET_F_CSUM} (0): the device handles packets with partial checksum. */
    NET_CSUM(0, "VIRTIO_NET_F_CSUM"),
    /** {@code VIRTIO_NET_F_GUEST_CSUM} (1): the driver handles packets with partial checksum. */
    NET_GUEST_CSUM(1, "VIRTIO_NET_F_GUEST_CSUM"),
    /** {@code VIRTIO_NET_F_MTU} (3): the device reports its maximum MTU. */
    NET_MTU(3, "VIRTIO_NET_F_MTU"),
    /** {@code VIRTIO_NET_F_MAC} (5): the device has a MAC address. */
    NET_MAC(5, "VIRTIO_NET_F_MAC"),
    /** {@code VIRTIO_NET_F_GUEST_TSO4} (7): the driver takes TSOv4. */
    NET_GUEST_TSO4(7, "VIRTIO_NET_F_GUEST_TSO4"),
    /** {@code VIRTIO_NET_F_GUEST_TSO6} (8): the driver takes TSOv6. */
    NET_GUEST_TSO6(8, "VIRTIO_NET_F_GUEST_TSO6"),
    /** {@code VIRTIO_NET_F_GUEST_UFO} (10): the driver takes UFO. */
    NET_GUEST_UFO(10, "VIRTIO_NET_F_GUEST_UFO"),
    /** {@code VIRTIO_NET_F_HOST_TSO4} (11): the device takes TSOv4. */
    NET_HOST_TSO4(11, "VIRTIO_NET_F_HOST_TSO4"),
    /** {@code VIRTIO_NET_F_HOST_TSO6} (12): the device takes TSOv6. */
    NET_HOST_TSO6(12, "VIRTIO_NET_F_HOST_TSO6"),
    /** {@code VIRTIO_NET_F_HOST_UFO} (14): the device takes UFO. */
    NET_HOST_UFO(14, "VIRTIO_NET_F_HOST_UFO"),
    /** {@code VIRTIO_NET_F_MRG_RXBUF} (15): mergeable receive buffers. */
    NET_MRG_RXBUF(15, "VIRTIO_NET_F_MRG_RXBUF"),
    /** {@code VIRTIO_NET_F_STATUS} (16): the configuration's status field is valid. */
    NET_STATUS(16, "VIRTIO_NET_F_STATUS"),
    /** {@code VIRTIO_NET_F_CTRL_VQ} (17): a control virtqueue. */
    NET_CTRL_VQ(17, "VIRTIO_NET_F_CTRL_VQ"),
    /** {@code VIRTIO_NET_F_CTRL_RX} (18): control of receive modes. */
    NET_CTRL_RX(18, "VIRTIO_NET_F_CTRL_RX"),
    /** {@code VIRTIO_NET_F_GUEST_ANNOUNCE} (21): the driver sends gratuitous packets. */
    NET_GUEST_ANNOUNCE(21, "VIRTIO_NET_F_GUEST_ANNOUNCE"),
    /** {@code VIRTIO_NET_F_MQ} (22): several queue pairs. */
    NET_MQ(22, "VIRTIO_NET_F_MQ"),
    /** {@code VIRTIO_F_NOTIFY_ON_EMPTY} (24): notify when the available ring runs empty. */
    NOTIFY_ON_EMPTY(24, "VIRTIO_F_NOTIFY_ON_EMPTY"),
    /** {@code VHOST_F_LOG_ALL} (26): log all writes (live migration). */
    LOG_ALL(26, "VHOST_F_LOG_ALL"),
    /** {@code VIRTIO_F_ANY_LAYOUT} (27): no framing constraints on descriptors. */
    ANY_LAYOUT(27, "VIRTIO_F_ANY_LAYOUT"),
    /** {@code VIRTIO_RING_F_INDIRECT_DESC} (28): indirect descriptors. */
    RING_INDIRECT_DESC(28, "VIRTIO_RING_F_INDIRECT_DESC"),
    /** {@code VIRTIO_RING_F_EVENT_IDX} (29): the used_event and avail_event fields. */
    RING_EVENT_IDX(29, "VIRTIO_RING_F_EVENT_IDX"),
    /** {@code VHOST_USER_F_PROTOCOL_FEATURES} (30): the backend speaks vhost-user protocol features (GET/SET_PROTOCOL_FEATURES). */
    PROTOCOL_FEATURES(30, "VHOST_USER_F_PROTOCOL_FEATURES"),
    /** {@code VIRTIO_F_VERSION_1} (32): virtio 1.0 (modern) semantics. */
    VERSION_1(32, "VIRTIO_F_VERSION_1"),
    /** {@code VIRTIO_F_IOMMU_PLATFORM} (33): addresses are I/O virtual addresses behind an IOMMU (VIRTIO_F_ACCESS_PLATFORM). */
    IOMMU_PLATFORM(33, "VIRTIO_F_IOMMU_PLATFORM"),
    /** {@code VIRTIO_F_RING_PACKED} (34): the packed virtqueue layout. */
    RING_PACKED(34, "VIRTIO_F_RING_PACKED"),
    /** {@code VIRTIO_F_IN_ORDER} (35): buffers are used in the order they were made available. */
    IN_ORDER(35, "VIRTIO_F_IN_ORDER");

    private final int bit;
    private final String cName;

    VirtioFeature(int bit, String cName) {
        this.bit = bit;
        this.cName = cName;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public String cName() {
        return cName;
    }
}
