package io.jvhost.iotlb;

import io.jvhost.protocol.Access;

/**
 * An entry of an IOTLB's pending list: a miss for {@code iova} with {@code perm} was sent to the
 * frontend and no update has answered it yet.
 *
 * @param iova the I/O virtual address missed (unsigned)
 * @param perm {@link Access}
 */
public record PendingEntry(long iova, Access perm) {
    @Override
    public String toString() {
        return "[pending " + Hex.of(iova) + " " + perm + "]";
    }
}
