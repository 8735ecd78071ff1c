package io.jvhost.protocol;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The header of every vhost-user message ({@code VhostUserMsg} in DPDK's {@code vhost_user.h},
 * rust-vmm's {@code VhostUserMsgHeader}): {@code request} u32, {@code flags} u32, {@code size}
 * u32 (the payload's length), little-endian, {@link #BYTES} bytes, packed; the payload follows.
 * The flags hold the protocol version in bits 0-1 ({@link #VERSION_MASK}), {@link #REPLY} and
 * {@link #NEED_REPLY}; the other bits are reserved.
 *
 * <p>The components keep what a peer sent (any u32 each; {@code size} is unsigned), so that a
 * decoded header can be checked ({@link #isValid()}) and a malformed one written on purpose. The
 * factories {@link #of(FrontendRequest, int, int)} and {@link #of(BackendRequest, int, int)}
 * take typed values, set the version and check the rest.
 *
 * @param request the request code: a {@link FrontendRequest} on the vhost-user socket, a
 *     {@link BackendRequest} on the backend-request channel
 * @param flags the flags, version included
 * @param size the payload's length in bytes (unsigned)
 */
public record MessageHeader(int request, int flags, int size) {
    /** {@code VHOST_USER_HDR_SIZE}: the header's length in bytes. */
    public static final int BYTES = 12;
    /** {@code VHOST_USER_VERSION}: the only protocol version. */
    public static final int VERSION = 0x1;
    /** {@code VHOST_USER_VERSION_MASK}: the flags' version bits. */
    public static final int VERSION_MASK = 0x3;
    /** {@code VHOST_USER_REPLY_MASK}: the message is a reply. */
    public static final int REPLY = 0x1 << 2;
    /**
     * {@code VHOST_USER_NEED_REPLY}: the sender wants a reply (a u64, 0 for success), once
     * {@link ProtocolFeature#REPLY_ACK} is negotiated.
     */
    public static final int NEED_REPLY = 0x1 << 3;
    /** The flags bits the protocol reserves: none may be set. */
    public static final int RESERVED_BITS = ~(VERSION_MASK | REPLY | NEED_REPLY);
    /** The longest payload this implementation accepts (rust-vmm's {@code MAX_MSG_SIZE}). */
    public static final int MAX_PAYLOAD = 0x1000;

    /**
     * @param request the request
     * @param flags {@link #REPLY} and {@link #NEED_REPLY} or 0 (the version is added)
     * @param size the payload's length, 0 to {@link #MAX_PAYLOAD}
     * @return the header
     * @throws IllegalArgumentException if {@code flags} has other bits or {@code size} is out of range
     */
    public static MessageHeader of(FrontendRequest request, int flags, int size) {
        return checked(Objects.requireNonNull(request, "request").code(), flags, size);
    }

    /**
     * @param request the request
     * @param flags {@link #REPLY} and {@link #NEED_REPLY} or 0 (the version is added)
     * @param size the payload's length, 0 to {@link #MAX_PAYLOAD}
     * @return the header
     * @throws IllegalArgumentException if {@code flags} has other bits or {@code size} is out of range
     */
    public static MessageHeader of(BackendRequest request, int flags, int size) {
        return checked(Objects.requireNonNull(request, "request").code(), flags, size);
    }

    private static MessageHeader checked(int request, int flags, int size) {
        if ((flags & ~(REPLY | NEED_REPLY)) != 0) {
            throw new IllegalArgumentException("flags may only be REPLY (0x4) and NEED_REPLY (0x8), not 0x"
                    + Integer.toHexString(flags));
        }
        if (size < 0 || size > MAX_PAYLOAD) {
            throw new IllegalArgumentException("a payload has 0 to " + MAX_PAYLOAD + " bytes, not " + size);
        }
        return new MessageHeader(request, flags | VERSION, size);
    }

    /**
     * Reads a header from the buffer's position, which moves past it.
     *
     * @param buf the buffer
     * @return the header, as sent
     * @throws IllegalArgumentException if fewer than {@link #BYTES} bytes remain
     */
    public static MessageHeader decode(ByteBuffer buf) {
        return read(Wire.take(buf, BYTES, "a vhost-user message header"));
    }

    /**
     * @param bytes an array with a header at {@code offset}
     * @param offset where it starts
     * @return the header, as sent
     * @throws IllegalArgumentException if the array is too short
     */
    public static MessageHeader decode(byte[] bytes, int offset) {
        return read(Wire.wrap(bytes, offset, BYTES, "a vhost-user message header"));
    }

    private static MessageHeader read(ByteBuffer b) {
        return new MessageHeader(b.getInt(0), b.getInt(4), b.getInt(8));
    }

    /**
     * Writes the header at the buffer's position, which moves past it.
     *
     * @param buf the buffer
     * @return {@code buf}
     * @throws IllegalArgumentException if fewer than {@link #BYTES} bytes remain
     */
    public ByteBuffer encode(ByteBuffer buf) {
        Wire.take(buf, BYTES, "a vhost-user message header").putInt(request).putInt(flags).putInt(size);
        return buf;
    }

    /** @return the {@link #BYTES} bytes */
    public byte[] toBytes() {
        byte[] bytes = new byte[BYTES];
        encode(ByteBuffer.wrap(bytes));
        return bytes;
    }

    /** @return the version bits of the flags */
    public int version() {
        return flags & VERSION_MASK;
    }

    /** @return whether {@link #REPLY} is set */
    public boolean isReply() {
        return (flags & REPLY) != 0;
    }

    /** @return whether {@link #NEED_REPLY} is set */
    public boolean needsReply() {
        return (flags & NEED_REPLY) != 0;
    }

    /** @return the payload's length as the unsigned number it is */
    public long payloadSize() {
        return Integer.toUnsignedLong(size);
    }

    /**
     * rust-vmm's {@code is_valid}, without the request code (which depends on the channel).
     *
     * @return whether the version is {@link #VERSION}, no reserved flag is set and the payload is at
     *     most {@link #MAX_PAYLOAD} bytes
     */
    public boolean isValid() {
        return version() == VERSION && (flags & RESERVED_BITS) == 0 && payloadSize() <= MAX_PAYLOAD;
    }

    /**
     * @return the request, read as one on the vhost-user socket
     * @throws IllegalArgumentException if no frontend request has the code
     */
    public FrontendRequest frontendRequest() {
        return FrontendRequest.of(request);
    }

    /**
     * @return the request, read as one on the backend-request channel
     * @throws IllegalArgumentException if no backend request has the code
     */
    public BackendRequest backendRequest() {
        return BackendRequest.of(request);
    }

    @Override
    public String toString() {
        return "MessageHeader[request " + Integer.toUnsignedString(request) + ", flags 0x"
                + Integer.toHexString(flags) + ", size " + Integer.toUnsignedString(size) + "]";
    }
}
