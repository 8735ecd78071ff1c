package io.jvhost.iotlb;

import io.jvhost.protocol.Access;

/**
 * One entry of an IOTLB cache: {@code size} bytes of I/O virtual addresses from {@code iova} are
 * mapped at {@code uaddr} in the backend's address space, with permission {@code perm}. All
 * numbers are unsigned 64-bit values.
 *
 * @param iova first I/O virtual address
 * @param uaddr backend virtual address of {@code iova}
 * @param size length in bytes
 * @param perm {@link Access}
 */
public record IotlbEntry(long iova, long uaddr, long size, Access perm) {
    @Override
    public String toString() {
        return "[iova " + Hex.of(iova) + " uaddr " + Hex.of(uaddr) + " size " + Hex.of(size) + " "
                + perm + "]";
    }
}
