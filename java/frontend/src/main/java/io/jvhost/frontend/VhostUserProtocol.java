package io.jvhost.frontend;

/**
 * Constants of the vhost-user protocol as spoken by QEMU and DPDK 22.11 (message numbers, flags,
 * feature bits). Names follow DPDK's {@code lib/vhost/vhost_user.h}; the backend-request channel
 * is what DPDK 22.11 still calls the "slave" channel.
 */
public final class VhostUserProtocol {
    private VhostUserProtocol() {
    }

    /** Size of the message header: request, flags, size (three little-endian u32). */
    public static final int HEADER_SIZE = 12;
    /** Protocol version carried in the low bits of every message's flags. */
    public static final int VERSION = 0x1;
    /** Flags: this message is a reply. */
    public static final int FLAG_REPLY = 0x4;
    /** Flags: the sender wants a {@code REPLY_ACK} (needs protocol feature {@link #PROTOCOL_F_REPLY_ACK}). */
    public static final int FLAG_NEED_REPLY = 0x8;
    /** Largest payload this implementation reads (DPDK's payload union is smaller). */
    public static final int MAX_PAYLOAD = 4096;
    /** Most memory regions in one SET_MEM_TABLE (VHOST_MEMORY_MAX_NREGIONS). */
    public static final int MAX_MEMORY_REGIONS = 8;
    /** In SET_VRING_KICK/CALL/ERR payloads: no file descriptor accompanies the message. */
    public static final long VRING_NOFD_MASK = 1L << 8;
    /** In SET_VRING_KICK/CALL/ERR payloads: the vring index bits. */
    public static final long VRING_IDX_MASK = 0xff;

    // front-end requests
    /** VHOST_USER_GET_FEATURES */
    public static final int GET_FEATURES = 1;
    /** VHOST_USER_SET_FEATURES */
    public static final int SET_FEATURES = 2;
    /** VHOST_USER_SET_OWNER */
    public static final int SET_OWNER = 3;
    /** VHOST_USER_RESET_OWNER */
    public static final int RESET_OWNER = 4;
    /** VHOST_USER_SET_MEM_TABLE */
    public static final int SET_MEM_TABLE = 5;
    /** VHOST_USER_SET_VRING_NUM */
    public static final int SET_VRING_NUM = 8;
    /** VHOST_USER_SET_VRING_ADDR */
    public static final int SET_VRING_ADDR = 9;
    /** VHOST_USER_SET_VRING_BASE */
    public static final int SET_VRING_BASE = 10;
    /** VHOST_USER_GET_VRING_BASE */
    public static final int GET_VRING_BASE = 11;
    /** VHOST_USER_SET_VRING_KICK */
    public static final int SET_VRING_KICK = 12;
    /** VHOST_USER_SET_VRING_CALL */
    public static final int SET_VRING_CALL = 13;
    /** VHOST_USER_SET_VRING_ERR */
    public static final int SET_VRING_ERR = 14;
    /** VHOST_USER_GET_PROTOCOL_FEATURES */
    public static final int GET_PROTOCOL_FEATURES = 15;
    /** VHOST_USER_SET_PROTOCOL_FEATURES */
    public static final int SET_PROTOCOL_FEATURES = 16;
    /** VHOST_USER_GET_QUEUE_NUM */
    public static final int GET_QUEUE_NUM = 17;
    /** VHOST_USER_SET_VRING_ENABLE */
    public static final int SET_VRING_ENABLE = 18;
    /** VHOST_USER_SET_SLAVE_REQ_FD (the backend-request channel) */
    public static final int SET_SLAVE_REQ_FD = 21;
    /** VHOST_USER_IOTLB_MSG */
    public static final int IOTLB_MSG = 22;

    // backend ("slave") requests
    /** VHOST_USER_SLAVE_IOTLB_MSG: the backend reports an IOTLB miss (or access failure). */
    public static final int SLAVE_IOTLB_MSG = 1;
    /** VHOST_USER_SLAVE_CONFIG_CHANGE_MSG */
    public static final int SLAVE_CONFIG_CHANGE_MSG = 2;
    /** VHOST_USER_SLAVE_VRING_HOST_NOTIFIER_MSG */
    public static final int SLAVE_VRING_HOST_NOTIFIER_MSG = 3;

    // struct vhost_iotlb_msg types (linux/vhost_types.h)
    /** IOTLB message type: the backend misses a translation. */
    public static final int IOTLB_MISS = 1;
    /** IOTLB message type: a translation for the backend's IOTLB. */
    public static final int IOTLB_UPDATE = 2;
    /** IOTLB message type: drop translations of a range. */
    public static final int IOTLB_INVALIDATE = 3;
    /** IOTLB message type: the backend was refused access. */
    public static final int IOTLB_ACCESS_FAIL = 4;
    /** Size of struct vhost_iotlb_msg on the wire (26 bytes of fields, padded to 32). */
    public static final int IOTLB_MSG_SIZE = 32;

    // virtio feature bits
    /** VIRTIO_NET_F_MRG_RXBUF */
    public static final int VIRTIO_NET_F_MRG_RXBUF = 15;
    /** VIRTIO_NET_F_CTRL_VQ */
    public static final int VIRTIO_NET_F_CTRL_VQ = 17;
    /** VIRTIO_NET_F_MQ */
    public static final int VIRTIO_NET_F_MQ = 22;
    /** VIRTIO_RING_F_INDIRECT_DESC */
    public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
    /** VIRTIO_RING_F_EVENT_IDX */
    public static final int VIRTIO_RING_F_EVENT_IDX = 29;
    /** VHOST_USER_F_PROTOCOL_FEATURES: the backend speaks protocol features. */
    public static final int VHOST_USER_F_PROTOCOL_FEATURES = 30;
    /** VIRTIO_F_VERSION_1 */
    public static final int VIRTIO_F_VERSION_1 = 32;
    /** VIRTIO_F_IOMMU_PLATFORM (VIRTIO_F_ACCESS_PLATFORM): addresses are IOVAs behind an IOMMU. */
    public static final int VIRTIO_F_IOMMU_PLATFORM = 33;
    /** VIRTIO_F_RING_PACKED */
    public static final int VIRTIO_F_RING_PACKED = 34;

    // protocol feature bits
    /** VHOST_USER_PROTOCOL_F_MQ */
    public static final int PROTOCOL_F_MQ = 0;
    /** VHOST_USER_PROTOCOL_F_LOG_SHMFD */
    public static final int PROTOCOL_F_LOG_SHMFD = 1;
    /** VHOST_USER_PROTOCOL_F_RARP */
    public static final int PROTOCOL_F_RARP = 2;
    /** VHOST_USER_PROTOCOL_F_REPLY_ACK */
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    /** VHOST_USER_PROTOCOL_F_NET_MTU */
    public static final int PROTOCOL_F_NET_MTU = 4;
    /** VHOST_USER_PROTOCOL_F_SLAVE_REQ (BACKEND_REQ) */
    public static final int PROTOCOL_F_SLAVE_REQ = 5;
    /** VHOST_USER_PROTOCOL_F_SLAVE_SEND_FD */
    public static final int PROTOCOL_F_SLAVE_SEND_FD = 10;
    /** VHOST_USER_PROTOCOL_F_STATUS */
    public static final int PROTOCOL_F_STATUS = 16;

    /**
     * @param request a front-end request number
     * @return its name, e.g. {@code SET_MEM_TABLE}, or {@code REQUEST_<n>}
     */
    public static String requestName(int request) {
        switch (request) {
        case GET_FEATURES: return "GET_FEATURES";
        case SET_FEATURES: return "SET_FEATURES";
        case SET_OWNER: return "SET_OWNER";
        case RESET_OWNER: return "RESET_OWNER";
        case SET_MEM_TABLE: return "SET_MEM_TABLE";
        case SET_VRING_NUM: return "SET_VRING_NUM";
        case SET_VRING_ADDR: return "SET_VRING_ADDR";
        case SET_VRING_BASE: return "SET_VRING_BASE";
        case GET_VRING_BASE: return "GET_VRING_BASE";
        case SET_VRING_KICK: return "SET_VRING_KICK";
        case SET_VRING_CALL: return "SET_VRING_CALL";
        case SET_VRING_ERR: return "SET_VRING_ERR";
        case GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
        case SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
        case GET_QUEUE_NUM: return "GET_QUEUE_NUM";
        case SET_VRING_ENABLE: return "SET_VRING_ENABLE";
        case SET_SLAVE_REQ_FD: return "SET_SLAVE_REQ_FD";
        case IOTLB_MSG: return "IOTLB_MSG";
        default: return "REQUEST_" + request;
        }
    }

    /**
     * @param bit a feature bit number
     * @param features a feature mask
     * @return whether {@code features} has {@code bit}
     */
    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}
