package io.jvhost.iotlb;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@code struct vhost_iotlb_msg} (linux/vhost_types.h): the payload of vhost-user's
 * {@code VHOST_USER_IOTLB_MSG} (frontend to backend: UPDATE, INVALIDATE) and of the backend
 * request {@code VHOST_USER_SLAVE_IOTLB_MSG} (backend to frontend: MISS). In memory it is 32 bytes,
 * little-endian on x86: iova, size, uaddr (u64 each), perm, type (u8 each), 6 bytes of padding.
 *
 * @param iova I/O virtual address (unsigned)
 * @param size length (unsigned)
 * @param uaddr the frontend's virtual address (QEMU's, for UPDATE)
 * @param perm {@link Perm} (not checked here: the wire may carry anything)
 * @param type {@link #MISS}, {@link #UPDATE}, {@link #INVALIDATE}, {@link #ACCESS_FAIL}
 */
public record VhostIotlbMsg(long iova, long size, long uaddr, int perm, int type) {
    /** {@code VHOST_IOTLB_MISS}. */
    public static final int MISS = 1;
    /** {@code VHOST_IOTLB_UPDATE}. */
    public static final int UPDATE = 2;
    /** {@code VHOST_IOTLB_INVALIDATE}. */
    public static final int INVALIDATE = 3;
    /** {@code VHOST_IOTLB_ACCESS_FAIL}. */
    public static final int ACCESS_FAIL = 4;
    /** sizeof(struct vhost_iotlb_msg) on x86_64. */
    public static final int BYTES = 32;

    /**
     * @param iova the address
     * @param size the length
     * @param uaddr the frontend's virtual address
     * @param perm the permission
     * @return an UPDATE
     */
    public static VhostIotlbMsg update(long iova, long size, long uaddr, int perm) {
        return new VhostIotlbMsg(iova, size, uaddr, perm, UPDATE);
    }

    /**
     * @param iova the address
     * @param size the length
     * @return an INVALIDATE (uaddr and perm 0)
     */
    public static VhostIotlbMsg invalidate(long iova, long size) {
        return new VhostIotlbMsg(iova, size, 0, 0, INVALIDATE);
    }

    /**
     * @param bytes at least {@link #BYTES} bytes from {@code offset}
     * @param offset where the struct starts
     * @return the decoded struct
     * @throws IllegalArgumentException if too short
     */
    public static VhostIotlbMsg decode(byte[] bytes, int offset) {
        if (offset < 0 || bytes.length - offset < BYTES) {
            throw new IllegalArgumentException("struct vhost_iotlb_msg needs " + BYTES + " bytes, got "
                    + Math.max(0, bytes.length - offset));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, offset, BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long iova = b.getLong();
        long size = b.getLong();
        long uaddr = b.getLong();
        int perm = b.get() & 0xff;
        int type = b.get() & 0xff;
        return new VhostIotlbMsg(iova, size, uaddr, perm, type);
    }

    /** @return the 32 bytes, padding zero */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(iova).putLong(size).putLong(uaddr).put((byte) perm).put((byte) type);
        return b.array();
    }

    /** @return the type's name */
    public String typeName() {
        switch (type) {
            case MISS:
                return "MISS";
            case UPDATE:
                return "UPDATE";
            case INVALIDATE:
                return "INVALIDATE";
            case ACCESS_FAIL:
                return "ACCESS_FAIL";
            default:
                return "type(" + type + ")";
        }
    }

    @Override
    public String toString() {
        return typeName() + " iova " + Hex.of(iova) + " size " + Hex.of(size) + " uaddr " + Hex.of(uaddr)
                + " perm " + perm;
    }
}
