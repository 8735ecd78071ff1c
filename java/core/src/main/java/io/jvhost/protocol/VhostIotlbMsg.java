package io.jvhost.protocol;

import io.jvhost.protocol.Access;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * {@code struct vhost_iotlb_msg} (DPDK's {@code vhost.h}, linux/vhost_types.h): the payload of
 * {@link FrontendRequest#IOTLB_MSG} (UPDATE, INVALIDATE) and of {@link BackendRequest#IOTLB_MSG}
 * (MISS, ACCESS_FAIL). Its layout, little-endian: {@code iova} u64 at 0, {@code size} u64 at 8,
 * {@code uaddr} u64 at 16, {@code perm} u8 at 24, {@code type} u8 at 25, then padding to
 * {@link #BYTES} (the struct's alignment is 8).
 *
 * <p>{@code perm} and {@code type} keep the bytes a peer sent, even values the protocol does not
 * define (DPDK takes any byte); {@link #access()} and {@link #iotlbType()} are their typed views.
 * The factories take typed values.
 *
 * @param iova I/O virtual address (unsigned)
 * @param size length in bytes (unsigned)
 * @param uaddr the frontend's virtual address (QEMU's) of {@code iova}, for an UPDATE
 * @param perm the {@link Access} wire value, 0 to 255
 * @param type the {@link IotlbType} wire value, 0 to 255
 */
public record VhostIotlbMsg(long iova, long size, long uaddr, int perm, int type) {
    /** {@code sizeof(struct vhost_iotlb_msg)}: 26 bytes of fields padded to 32. */
    public static final int BYTES = 32;
    /** The bytes that carry fields; a payload must have at least these. */
    public static final int FIELD_BYTES = 26;

    /**
     * @param iova I/O virtual address (unsigned)
     * @param size length in bytes (unsigned)
     * @param uaddr the frontend's virtual address of {@code iova}, for an UPDATE
     * @param perm the {@link Access} wire value, 0 to 255
     * @param type the {@link IotlbType} wire value, 0 to 255
     * @throws IllegalArgumentException if {@code perm} or {@code type} is not a byte (0 to 255)
     */
    public VhostIotlbMsg {
        if (perm < 0 || perm > 0xff) {
            throw new IllegalArgumentException("perm is a u8 (0 to 255), not " + perm);
        }
        if (type < 0 || type > 0xff) {
            throw new IllegalArgumentException("type is a u8 (0 to 255), not " + type);
        }
    }

    /**
     * @param iova the address
     * @param size the length
     * @param uaddr the frontend's virtual address
     * @param access the access
     * @param type the type
     * @return the message
     */
    public static VhostIotlbMsg of(long iova, long size, long uaddr, Access access, IotlbType type) {
        return new VhostIotlbMsg(iova, size, uaddr, Objects.requireNonNull(access, "access").wire(),
                Objects.requireNonNull(type, "type").wire());
    }

    /**
     * @param iova the address
     * @param size the length
     * @param uaddr the frontend's virtual address
     * @param access what the mapping grants
     * @return an UPDATE
     */
    public static VhostIotlbMsg update(long iova, long size, long uaddr, Access access) {
        return of(iova, size, uaddr, access, IotlbType.UPDATE);
    }

    /**
     * @param iova the address
     * @param size the length
     * @return an INVALIDATE (uaddr 0, perm {@link Access#NONE})
     */
    public static VhostIotlbMsg invalidate(long iova, long size) {
        return of(iova, size, 0, Access.NONE, IotlbType.INVALIDATE);
    }

    /**
     * @param iova the first address not mapped
     * @param access the access asked for
     * @return a MISS (size and uaddr 0), as DPDK sends it
     */
    public static VhostIotlbMsg miss(long iova, Access access) {
        return of(iova, 0, 0, access, IotlbType.MISS);
    }

    /**
     * @return the typed {@code perm}
     * @throws IllegalArgumentException if the protocol defines no access with this value
     */
    public Access access() {
        return Access.ofWire(perm);
    }

    /**
     * @return the typed {@code type}
     * @throws IllegalArgumentException if the protocol defines no type with this value
     */
    public IotlbType iotlbType() {
        return IotlbType.ofWire(type);
    }

    /** @return whether {@code perm} and {@code type} are values the protocol defines */
    public boolean isValid() {
        return perm <= Access.RW.wire() && type >= IotlbType.MISS.wire() && type <= IotlbType.ACCESS_FAIL.wire();
    }

    /**
     * Reads one from the buffer's position, which moves past it: the {@link #FIELD_BYTES} of fields
     * and as much of the padding as remains, up to {@link #BYTES}.
     *
     * @param buf the buffer
     * @return the message
     * @throws IllegalArgumentException if fewer than {@link #FIELD_BYTES} bytes remain
     */
    public static VhostIotlbMsg decode(ByteBuffer buf) {
        int n = Math.min(BYTES, Objects.requireNonNull(buf, "buffer").remaining());
        return read(Wire.take(buf, Math.max(n, FIELD_BYTES), "struct vhost_iotlb_msg"));
    }

    /**
     * @param bytes an array holding at least {@link #FIELD_BYTES} bytes from {@code offset}
     * @param offset where the struct starts
     * @return the message
     * @throws IllegalArgumentException if the array is too short
     */
    public static VhostIotlbMsg decode(byte[] bytes, int offset) {
        return read(Wire.wrap(bytes, offset, FIELD_BYTES, "struct vhost_iotlb_msg"));
    }

    private static VhostIotlbMsg read(ByteBuffer b) {
        long iova = b.getLong(0);
        long size = b.getLong(8);
        long uaddr = b.getLong(16);
        return new VhostIotlbMsg(iova, size, uaddr, b.get(24) & 0xff, b.get(25) & 0xff);
    }

    /**
     * Writes the {@link #BYTES} bytes, padding zero, at the buffer's position, which moves past them.
     *
     * @param buf the buffer
     * @return {@code buf}
     * @throws IllegalArgumentException if fewer than {@link #BYTES} bytes remain
     */
    public ByteBuffer encode(ByteBuffer buf) {
        ByteBuffer b = Wire.take(buf, BYTES, "struct vhost_iotlb_msg");
        b.putLong(iova).putLong(size).putLong(uaddr).put((byte) perm).put((byte) type);
        while (b.hasRemaining()) {
            b.put((byte) 0);
        }
        return buf;
    }

    /** @return the {@link #BYTES} bytes, padding zero */
    public byte[] toBytes() {
        byte[] bytes = new byte[BYTES];
        encode(ByteBuffer.wrap(bytes));
        return bytes;
    }

    /** @return the type's name, e.g. {@code UPDATE}, or {@code type(<n>)} for an undefined one */
    public String typeName() {
        return IotlbType.nameOf(type);
    }

    @Override
    public String toString() {
        return typeName() + " iova " + Wire.hex(iova) + " size " + Wire.hex(size) + " uaddr " + Wire.hex(uaddr)
                + " perm " + perm;
    }
}
