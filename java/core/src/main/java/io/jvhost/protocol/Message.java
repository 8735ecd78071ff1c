package io.jvhost.protocol;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A whole vhost-user message: a {@link MessageHeader} and the payload it announces. Immutable: the
 * payload is copied in and out.
 *
 * @param header the header
 * @param payload the payload (copied)
 */
public record Message(MessageHeader header, byte[] payload) {
    /**
     * @param header the header
     * @param payload the payload (copied)
     * @throws IllegalArgumentException if the header announces another payload length
     */
    public Message {
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(payload, "payload");
        if (header.payloadSize() != payload.length) {
            throw new IllegalArgumentException("header announces " + header.payloadSize() + " payload bytes, got "
                    + payload.length);
        }
        payload = payload.clone();
    }

    /**
     * @param request the request
     * @param flags {@link MessageHeader#REPLY} and {@link MessageHeader#NEED_REPLY} or 0
     * @param payload the payload, at most {@link MessageHeader#MAX_PAYLOAD} bytes
     * @return the message, version set
     * @throws IllegalArgumentException as {@link MessageHeader#of(FrontendRequest, int, int)}
     */
    public static Message of(FrontendRequest request, int flags, byte[] payload) {
        return new Message(MessageHeader.of(request, flags, payload.length), payload);
    }

    /**
     * @param request the request
     * @param flags {@link MessageHeader#REPLY} and {@link MessageHeader#NEED_REPLY} or 0
     * @param payload the payload, at most {@link MessageHeader#MAX_PAYLOAD} bytes
     * @return the message, version set
     * @throws IllegalArgumentException as {@link MessageHeader#of(BackendRequest, int, int)}
     */
    public static Message of(BackendRequest request, int flags, byte[] payload) {
        return new Message(MessageHeader.of(request, flags, payload.length), payload);
    }

    /**
     * @param request the request
     * @param flags as {@link #of(BackendRequest, int, byte[])}
     * @param msg the IOTLB message
     * @return the message with {@code msg} as payload ({@link VhostIotlbMsg#BYTES} bytes)
     */
    public static Message iotlb(BackendRequest request, int flags, VhostIotlbMsg msg) {
        return of(request, flags, msg.toBytes());
    }

    /**
     * @param bytes exactly one message, header and payload
     * @return it
     * @throws IllegalArgumentException if the bytes are not one whole message
     */
    public static Message decode(byte[] bytes) {
        MessageHeader h = MessageHeader.decode(bytes, 0);
        if (h.payloadSize() != bytes.length - MessageHeader.BYTES) {
            throw new IllegalArgumentException("header announces " + h.payloadSize() + " payload bytes, got "
                    + (bytes.length - MessageHeader.BYTES));
        }
        return new Message(h, Arrays.copyOfRange(bytes, MessageHeader.BYTES, bytes.length));
    }

    /** @return the header and payload, as on the wire */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(MessageHeader.BYTES + payload.length);
        header.encode(b).put(payload);
        return b.array();
    }

    /** @return a copy of the payload */
    @Override
    public byte[] payload() {
        return payload.clone();
    }

    /** @return the payload's length */
    public int payloadLength() {
        return payload.length;
    }

    /**
     * @return the payload as a {@code struct vhost_iotlb_msg}
     * @throws IllegalArgumentException if it is shorter than {@link VhostIotlbMsg#FIELD_BYTES}
     */
    public VhostIotlbMsg iotlb() {
        return VhostIotlbMsg.decode(payload, 0);
    }

    /**
     * @return the payload as a u64 (a reply's value: 0 for success with REPLY_ACK)
     * @throws IllegalArgumentException if it is shorter than 8 bytes
     */
    public long u64() {
        return Wire.wrap(payload, 0, Long.BYTES, "a u64 payload").getLong(0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && m.header.equals(header) && Arrays.equals(m.payload, payload);
    }

    @Override
    public int hashCode() {
        return header.hashCode() * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        String body = payload.length == VhostIotlbMsg.BYTES
                && header.request() == BackendRequest.IOTLB_MSG.code()
                ? ", " + iotlb() : "";
        return "Message[" + header + body + "]";
    }
}
