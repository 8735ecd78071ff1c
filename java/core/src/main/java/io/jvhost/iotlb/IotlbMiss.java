package io.jvhost.iotlb;

/**
 * An IOTLB MISS the backend sent to the frontend: "please send an update for {@code iova} with
 * {@code perm}".
 *
 * @param iova the I/O virtual address (unsigned)
 * @param perm {@link Perm}
 */
public record IotlbMiss(long iova, int perm) {
    @Override
    public String toString() {
        return "MISS " + Hex.of(iova) + " " + Perm.name(perm);
    }
}
