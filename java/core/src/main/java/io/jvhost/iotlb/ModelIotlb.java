package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import java.util.Objects;

/**
 * What the two Java IOTLB engines share: {@code __vhost_iova_to_vva}'s lookup, which on a miss
 * records a pending entry and sends one IOTLB MISS per (iova, perm), and the channel that MISS
 * goes to. The engines differ only in how they keep the cache and the pending list.
 */
abstract class ModelIotlb implements Iotlb {
    private final BackendChannel channel;
    private final long[] tmpSize = new long[1];
    private long hits;
    private long misses;

    ModelIotlb(BackendChannel channel) {
        this.channel = Objects.requireNonNull(channel, "channel");
    }

    /** @return {@code poolSize}, if the engines can have a pool of that size */
    static int checkPoolSize(int poolSize) {
        if (poolSize < 1 || poolSize > MAX_POOL_SIZE) {
            throw new IllegalArgumentException("poolSize must be 1.." + MAX_POOL_SIZE + ", not " + poolSize);
        }
        return poolSize;
    }

    @Override
    public final long iovaToVva(long iova, long[] size, Access perm) {
        Access.requireSome(perm);
        if (size[0] == 0) {
            return 0;
        }
        tmpSize[0] = size[0];
        long vva = cacheFind(iova, tmpSize, perm);
        if (tmpSize[0] == size[0]) {
            hits++;
            return vva;
        }
        misses++;
        iova += tmpSize[0];
        if (!pendingMiss(iova, perm)) {
            pendingInsert(iova, perm);
            if (!channel.send(new IotlbMiss(iova, perm))) {
                // "IOTLB miss req failed for IOVA"
                pendingRemove(iova, 1, perm);
            }
        }
        return 0;
    }

    @Override
    public final IotlbMiss pollMiss() {
        return channel.poll();
    }

    @Override
    public final void disconnectFrontend() {
        channel.disconnect();
    }

    /** @return the channel MISS messages go to */
    public final BackendChannel channel() {
        return channel;
    }

    /** @return lookups by {@link #iovaToVva} that hit ({@code stats.iotlb_hits}) */
    public final long hits() {
        return hits;
    }

    /** @return lookups by {@link #iovaToVva} that missed ({@code stats.iotlb_misses}) */
    public final long misses() {
        return misses;
    }
}
