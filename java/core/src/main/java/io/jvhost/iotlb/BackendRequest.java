package io.jvhost.iotlb;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A vhost-user message on the backend-request ("slave") channel, as DPDK writes it: a 12-byte
 * header ({@code VhostUserMsg}: request, flags, size; u32 little-endian each) and {@code size}
 * bytes of payload.
 *
 * @param request the request id ({@link #SLAVE_IOTLB_MSG} for an IOTLB message)
 * @param flags the header flags (version in bits 0-1, {@link #REPLY_MASK}, {@link #NEED_REPLY})
 * @param size the payload length the header announces
 * @param payload the payload bytes
 */
public record BackendRequest(int request, int flags, int size, byte[] payload) {
    /** {@code VHOST_USER_SLAVE_IOTLB_MSG}. */
    public static final int SLAVE_IOTLB_MSG = 1;
    /** {@code VHOST_USER_HDR_SIZE}. */
    public static final int HEADER_BYTES = 12;
    /** {@code VHOST_USER_VERSION}. */
    public static final int VERSION = 0x1;
    /** {@code VHOST_USER_VERSION_MASK}. */
    public static final int VERSION_MASK = 0x3;
    /** {@code VHOST_USER_REPLY_MASK}. */
    public static final int REPLY_MASK = 0x1 << 2;
    /** {@code VHOST_USER_NEED_REPLY}. */
    public static final int NEED_REPLY = 0x1 << 3;

    /**
     * @param bytes a whole message
     * @return it decoded
     * @throws IllegalArgumentException if the bytes are not one whole message
     */
    public static BackendRequest decode(byte[] bytes) {
        if (bytes.length < HEADER_BYTES) {
            throw new IllegalArgumentException("a vhost-user message has a " + HEADER_BYTES + "-byte header, got "
                    + bytes.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int request = b.getInt();
        int flags = b.getInt();
        int size = b.getInt();
        if (Integer.toUnsignedLong(size) != bytes.length - HEADER_BYTES) {
            throw new IllegalArgumentException("header announces " + Integer.toUnsignedString(size)
                    + " payload bytes, got " + (bytes.length - HEADER_BYTES));
        }
        return new BackendRequest(request, flags, size, Arrays.copyOfRange(bytes, HEADER_BYTES, bytes.length));
    }

    /**
     * @return the payload as {@code struct vhost_iotlb_msg}
     * @throws IllegalStateException if this is no IOTLB message
     */
    public VhostIotlbMsg iotlb() {
        if (request != SLAVE_IOTLB_MSG || payload.length < VhostIotlbMsg.BYTES) {
            throw new IllegalStateException("not an IOTLB message: " + this);
        }
        return VhostIotlbMsg.decode(payload, 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendRequest r && r.request == request && r.flags == flags && r.size == size
                && Arrays.equals(r.payload, payload);
    }

    @Override
    public int hashCode() {
        return (request * 31 + flags) * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "BackendRequest[request " + request + ", flags 0x" + Integer.toHexString(flags) + ", size " + size
                + (request == SLAVE_IOTLB_MSG && payload.length >= VhostIotlbMsg.BYTES ? ", " + iotlb() : "") + "]";
    }
}
