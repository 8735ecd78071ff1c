package io.jvhost.iotlb;

/**
 * An entry of an IOTLB's pending list: a miss for {@code iova} with {@code perm} was sent to the
 * frontend and no update has answered it yet.
 *
 * @param iova the I/O virtual address missed (unsigned)
 * @param perm {@link Perm}
 */
public record PendingEntry(long iova, int perm) {
    @Override
    public String toString() {
        return "[pending " + Hex.of(iova) + " " + Perm.name(perm) + "]";
    }
}
