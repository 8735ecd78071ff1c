package io.jvhost.protocol;

/**
 * A request the backend sends the frontend on the backend-request channel (the socket passed with
 * {@link FrontendRequest#SET_BACKEND_REQ_FD}, once {@link ProtocolFeature#BACKEND_REQ} is
 * negotiated): the {@code VhostUserSlaveRequest} codes of DPDK 22.11's
 * {@code lib/vhost/vhost_user.h} (rust-vmm's {@code BackendReq}), named as the vhost-user
 * specification names them today. Code 0 is no request.
 */
public enum BackendRequest {
    /** An IOTLB miss or access failure ({@link VhostIotlbMsg}; {@code VHOST_USER_SLAVE_IOTLB_MSG} in DPDK 22.11) (1). */
    IOTLB_MSG(1),
    /** The device's configuration space changed ({@code VHOST_USER_SLAVE_CONFIG_CHANGE_MSG}) (2). */
    CONFIG_CHANGE_MSG(2),
    /** A host notifier area for a virtqueue ({@code VHOST_USER_SLAVE_VRING_HOST_NOTIFIER_MSG}) (3). */
    VRING_HOST_NOTIFIER_MSG(3);

    private final int code;

    BackendRequest(int code) {
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
    public static BackendRequest of(int code) {
        BackendRequest r = Codes.find(values(), BackendRequest::code, code);
        if (r == null) {
            throw new IllegalArgumentException("no backend request has code " + Integer.toUnsignedString(code));
        }
        return r;
    }

    /**
     * @param code a request code, perhaps one the protocol does not define
     * @return its name, e.g. {@code IOTLB_MSG}, or {@code REQUEST_<n>}
     */
    public static String nameOf(int code) {
        BackendRequest r = Codes.find(values(), BackendRequest::code, code);
        return r == null ? "REQUEST_" + Integer.toUnsignedString(code) : r.name();
    }
}
