package io.jvhost.protocol;

/**
 * A request the frontend (QEMU, the VMM) sends the backend on the vhost-user socket: the
 * {@code VhostUserRequest} codes of DPDK 22.11's {@code lib/vhost/vhost_user.h} (rust-vmm's
 * {@code FrontendReq}), named as the vhost-user specification names them today. Code 0
 * ({@code VHOST_USER_NONE}) is no request.
 */
public enum FrontendRequest {
    /** The backend's virtio features (reply: u64) (1). */
    GET_FEATURES(1),
    /** The features the frontend acknowledges (u64) (2). */
    SET_FEATURES(2),
    /** The frontend takes the device (3). */
    SET_OWNER(3),
    /** Deprecated; the frontend gives the device up (4). */
    RESET_OWNER(4),
    /** The guest memory regions, with a file descriptor each ({@link MemoryRegion#WIRE_BYTES} per region after an 8-byte count) (5). */
    SET_MEM_TABLE(5),
    /** The dirty-page log for live migration (6). */
    SET_LOG_BASE(6),
    /** The eventfd signalled when the log is written (7). */
    SET_LOG_FD(7),
    /** A virtqueue's size (struct vhost_vring_state) (8). */
    SET_VRING_NUM(8),
    /** A virtqueue's ring addresses (struct vhost_vring_addr) (9). */
    SET_VRING_ADDR(9),
    /** A virtqueue's next available index (struct vhost_vring_state) (10). */
    SET_VRING_BASE(10),
    /** Stops a virtqueue and asks for its next index (reply: struct vhost_vring_state) (11). */
    GET_VRING_BASE(11),
    /** A virtqueue's kick eventfd (u64: index, {@link #VRING_NOFD_MASK}) (12). */
    SET_VRING_KICK(12),
    /** A virtqueue's call eventfd (u64: index, {@link #VRING_NOFD_MASK}) (13). */
    SET_VRING_CALL(13),
    /** A virtqueue's error eventfd (u64: index, {@link #VRING_NOFD_MASK}) (14). */
    SET_VRING_ERR(14),
    /** The backend's vhost-user protocol features (reply: u64) (15). */
    GET_PROTOCOL_FEATURES(15),
    /** The protocol features the frontend acknowledges (u64) (16). */
    SET_PROTOCOL_FEATURES(16),
    /** How many queues the backend supports (reply: u64) (17). */
    GET_QUEUE_NUM(17),
    /** Enables or disables a virtqueue (struct vhost_vring_state) (18). */
    SET_VRING_ENABLE(18),
    /** Asks the backend to announce a MAC address after migration (19). */
    SEND_RARP(19),
    /** The MTU the guest driver uses (20). */
    NET_SET_MTU(20),
    /** The socket of the backend-request channel ({@code VHOST_USER_SET_SLAVE_REQ_FD} in DPDK 22.11) (21). */
    SET_BACKEND_REQ_FD(21),
    /** An IOTLB update or invalidation ({@link VhostIotlbMsg}) (22). */
    IOTLB_MSG(22),
    /** Reads the device's configuration space (24). */
    GET_CONFIG(24),
    /** Writes the device's configuration space (25). */
    SET_CONFIG(25),
    /** Creates a crypto session ({@code VHOST_USER_CRYPTO_CREATE_SESS} in DPDK) (26). */
    CREATE_CRYPTO_SESSION(26),
    /** Closes a crypto session ({@code VHOST_USER_CRYPTO_CLOSE_SESS} in DPDK) (27). */
    CLOSE_CRYPTO_SESSION(27),
    /** Postcopy migration: asks for a userfaultfd (28). */
    POSTCOPY_ADVISE(28),
    /** Postcopy migration: the backend starts listening for faults (29). */
    POSTCOPY_LISTEN(29),
    /** Postcopy migration ends (30). */
    POSTCOPY_END(30),
    /** Asks for the shared buffer of in-flight descriptors (31). */
    GET_INFLIGHT_FD(31),
    /** The shared buffer of in-flight descriptors (32). */
    SET_INFLIGHT_FD(32),
    /** The virtio device status byte (39). */
    SET_STATUS(39),
    /** Asks for the virtio device status byte (40). */
    GET_STATUS(40);

    /** In the u64 payload of SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR: the vring index bits. */
    public static final long VRING_IDX_MASK = 0xff;
    /** In the u64 payload of SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR: no file descriptor comes along. */
    public static final long VRING_NOFD_MASK = 1L << 8;

    private final int code;

    FrontendRequest(int code) {
        this.code = code;
    }

    /** @return the request code, the header's first u32 */
    public int code() {
        return code;
    }

    /**
     * @param code a request code
     * @return the request with that code
     * @throws IllegalArgumentException if the protocol (as DPDK 22.11 knows it) defines none
     */
    public static FrontendRequest of(int code) {
        FrontendRequest r = Codes.find(values(), FrontendRequest::code, code);
        if (r == null) {
            throw new IllegalArgumentException("no frontend request has code " + Integer.toUnsignedString(code));
        }
        return r;
    }

    /**
     * @param code a request code, perhaps one the protocol does not define
     * @return its name, e.g. {@code GET_FEATURES}, or {@code REQUEST_<n>}
     */
    public static String nameOf(int code) {
        FrontendRequest r = Codes.find(values(), FrontendRequest::code, code);
        return r == null ? "REQUEST_" + Integer.toUnsignedString(code) : r.name();
    }
}
