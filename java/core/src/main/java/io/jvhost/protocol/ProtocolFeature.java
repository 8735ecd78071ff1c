package io.jvhost.protocol;

/**
 * A vhost-user protocol feature bit (GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES; only after
 * {@link VirtioFeature#PROTOCOL_FEATURES} is offered): the numbers of DPDK 22.11's
 * {@code rte_vhost.h} and the vhost-user specification, named as the specification names them
 * today (rust-vmm's {@code VhostUserProtocolFeatures}); {@link #cName()} gives DPDK's name.
 * Feature sets travel as u64 masks: {@link FeatureBit#maskOf}, {@link FeatureBit#names}.
 */
public enum ProtocolFeature implements FeatureBit {
    /** {@code VHOST_USER_PROTOCOL_F_MQ} (0): several queues (GET_QUEUE_NUM). */
    MQ(0, "VHOST_USER_PROTOCOL_F_MQ"),
    /** {@code VHOST_USER_PROTOCOL_F_LOG_SHMFD} (1): the dirty log is shared memory. */
    LOG_SHMFD(1, "VHOST_USER_PROTOCOL_F_LOG_SHMFD"),
    /** {@code VHOST_USER_PROTOCOL_F_RARP} (2): SEND_RARP. */
    RARP(2, "VHOST_USER_PROTOCOL_F_RARP"),
    /** {@code VHOST_USER_PROTOCOL_F_REPLY_ACK} (3): the NEED_REPLY flag asks for an acknowledgement. */
    REPLY_ACK(3, "VHOST_USER_PROTOCOL_F_REPLY_ACK"),
    /** {@code VHOST_USER_PROTOCOL_F_NET_MTU} (4): NET_SET_MTU. */
    NET_MTU(4, "VHOST_USER_PROTOCOL_F_NET_MTU"),
    /** {@code VHOST_USER_PROTOCOL_F_SLAVE_REQ} (5): the backend-request channel (for IOTLB MISS). */
    BACKEND_REQ(5, "VHOST_USER_PROTOCOL_F_SLAVE_REQ"),
    /** {@code VHOST_USER_PROTOCOL_F_CROSS_ENDIAN} (6): SET_VRING_ENDIAN. */
    CROSS_ENDIAN(6, "VHOST_USER_PROTOCOL_F_CROSS_ENDIAN"),
    /** {@code VHOST_USER_PROTOCOL_F_CRYPTO_SESSION} (7): crypto sessions. */
    CRYPTO_SESSION(7, "VHOST_USER_PROTOCOL_F_CRYPTO_SESSION"),
    /** {@code VHOST_USER_PROTOCOL_F_PAGEFAULT} (8): postcopy migration with userfaultfd. */
    PAGEFAULT(8, "VHOST_USER_PROTOCOL_F_PAGEFAULT"),
    /** {@code VHOST_USER_PROTOCOL_F_CONFIG} (9): GET_CONFIG and SET_CONFIG. */
    CONFIG(9, "VHOST_USER_PROTOCOL_F_CONFIG"),
    /** {@code VHOST_USER_PROTOCOL_F_SLAVE_SEND_FD} (10): the backend may pass file descriptors on its channel. */
    BACKEND_SEND_FD(10, "VHOST_USER_PROTOCOL_F_SLAVE_SEND_FD"),
    /** {@code VHOST_USER_PROTOCOL_F_HOST_NOTIFIER} (11): host notifiers. */
    HOST_NOTIFIER(11, "VHOST_USER_PROTOCOL_F_HOST_NOTIFIER"),
    /** {@code VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD} (12): shared buffer of in-flight descriptors. */
    INFLIGHT_SHMFD(12, "VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD"),
    /** {@code VHOST_USER_PROTOCOL_F_RESET_DEVICE} (13): RESET_DEVICE. */
    RESET_DEVICE(13, "VHOST_USER_PROTOCOL_F_RESET_DEVICE"),
    /** {@code VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS} (14): notifications as messages. */
    INBAND_NOTIFICATIONS(14, "VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS"),
    /** {@code VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS} (15): memory slots added and removed one by one. */
    CONFIGURE_MEM_SLOTS(15, "VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS"),
    /** {@code VHOST_USER_PROTOCOL_F_STATUS} (16): SET_STATUS and GET_STATUS. */
    STATUS(16, "VHOST_USER_PROTOCOL_F_STATUS");

    private final int bit;
    private final String cName;

    ProtocolFeature(int bit, String cName) {
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
