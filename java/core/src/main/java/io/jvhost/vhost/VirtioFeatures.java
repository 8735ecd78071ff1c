package io.jvhost.vhost;

/** Feature bit numbers of virtio and vhost-user, for the feature masks of {@link VhostUserPort}. */
public final class VirtioFeatures {
    /** VIRTIO_NET_F_CSUM. */
    public static final int NET_F_CSUM = 0;
    /** VIRTIO_NET_F_GUEST_CSUM. */
    public static final int NET_F_GUEST_CSUM = 1;
    /** VIRTIO_NET_F_MTU. */
    public static final int NET_F_MTU = 3;
    /** VIRTIO_NET_F_MAC. */
    public static final int NET_F_MAC = 5;
    /** VIRTIO_NET_F_HOST_TSO4. */
    public static final int NET_F_HOST_TSO4 = 11;
    /** VIRTIO_NET_F_MRG_RXBUF: mergeable receive buffers. */
    public static final int NET_F_MRG_RXBUF = 15;
    /** VIRTIO_NET_F_CTRL_VQ. */
    public static final int NET_F_CTRL_VQ = 17;
    /** VIRTIO_NET_F_MQ: several queue pairs. */
    public static final int NET_F_MQ = 22;
    /** VIRTIO_F_NOTIFY_ON_EMPTY. */
    public static final int F_NOTIFY_ON_EMPTY = 24;
    /** VIRTIO_F_ANY_LAYOUT. */
    public static final int F_ANY_LAYOUT = 27;
    /** VIRTIO_RING_F_INDIRECT_DESC. */
    public static final int RING_F_INDIRECT_DESC = 28;
    /** VIRTIO_RING_F_EVENT_IDX. */
    public static final int RING_F_EVENT_IDX = 29;
    /** VHOST_USER_F_PROTOCOL_FEATURES. */
    public static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    /** VIRTIO_F_VERSION_1. */
    public static final int F_VERSION_1 = 32;
    /** VIRTIO_F_IOMMU_PLATFORM (ACCESS_PLATFORM): ring and buffer addresses are IOVAs. */
    public static final int F_IOMMU_PLATFORM = 33;
    /** VIRTIO_F_RING_PACKED. */
    public static final int F_RING_PACKED = 34;
    /** VIRTIO_F_IN_ORDER. */
    public static final int F_IN_ORDER = 35;

    /** VHOST_USER_PROTOCOL_F_MQ. */
    public static final int PROTOCOL_F_MQ = 0;
    /** VHOST_USER_PROTOCOL_F_REPLY_ACK. */
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    /** VHOST_USER_PROTOCOL_F_NET_MTU. */
    public static final int PROTOCOL_F_NET_MTU = 4;
    /** VHOST_USER_PROTOCOL_F_SLAVE_REQ (BACKEND_REQ): the backend-request channel, for IOTLB MISS. */
    public static final int PROTOCOL_F_SLAVE_REQ = 5;
    /** VHOST_USER_PROTOCOL_F_CONFIG. */
    public static final int PROTOCOL_F_CONFIG = 9;

    private VirtioFeatures() {
    }

    /**
     * @param bits bit numbers
     * @return the mask with those bits set
     */
    public static long mask(int... bits) {
        long m = 0;
        for (int b : bits) {
            if (b < 0 || b > 63) {
                throw new IllegalArgumentException("feature bit " + b);
            }
            m |= 1L << b;
        }
        return m;
    }

    /**
     * @param features a feature mask
     * @param bit a bit number
     * @return whether it is set
     */
    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}
