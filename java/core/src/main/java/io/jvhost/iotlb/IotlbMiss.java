package io.jvhost.iotlb;

import io.jvhost.protocol.Access;

/**
 * An IOTLB MISS the backend sent to the frontend: "please send an update for {@code iova} with
 * {@code perm}".
 *
 * @param iova the I/O virtual address (unsigned)
 * @param perm {@link Access}
 */
public record IotlbMiss(long iova, Access perm) {
    @Override
    public String toString() {
        return "MISS " + Hex.of(iova) + " " + perm;
    }
}
