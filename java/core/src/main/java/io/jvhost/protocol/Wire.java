package io.jvhost.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/** Little-endian views of a caller's buffer that leave its byte order alone. */
final class Wire {
    private Wire() {
    }

    /**
     * @param buf the caller's buffer
     * @param bytes how many bytes the caller will read or write from its position
     * @param what what is read or written, for the message
     * @return a little-endian view from {@code buf}'s position; {@code buf}'s position moves past
     *     the {@code bytes}
     * @throws IllegalArgumentException if fewer than {@code bytes} remain
     */
    static ByteBuffer take(ByteBuffer buf, int bytes, String what) {
        Objects.requireNonNull(buf, "buffer");
        if (buf.remaining() < bytes) {
            throw new IllegalArgumentException(what + " needs " + bytes + " bytes, " + buf.remaining() + " remain");
        }
        ByteBuffer view = buf.slice(buf.position(), bytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(buf.position() + bytes);
        return view;
    }

    /**
     * @param bytes an array
     * @param offset where a structure starts
     * @param length the structure's length
     * @param what the structure's name
     * @return a little-endian buffer over those bytes
     * @throws IllegalArgumentException if the array is too short
     */
    static ByteBuffer wrap(byte[] bytes, int offset, int length, String what) {
        Objects.requireNonNull(bytes, "bytes");
        if (offset < 0 || offset > bytes.length || bytes.length - offset < length) {
            throw new IllegalArgumentException(what + " needs " + length + " bytes from offset " + offset + ", got "
                    + Math.max(0, bytes.length - Math.max(0, offset)));
        }
        return ByteBuffer.wrap(bytes, offset, length).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param v an unsigned 64-bit number
     * @return it in hex
     */
    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
