package io.jvhost.iotlb;

/**
 * A queue's IOTLB counters as native/iotlb_native_handle.c reads them, each under DPDK's lock.
 *
 * @param cached {@code vq->iotlb_cache_nr}
 * @param free the entries on the pool's free list
 * @param hits {@code vq->stats.iotlb_hits}
 * @param misses {@code vq->stats.iotlb_misses}
 */
record IotlbCounters(int cached, int free, long hits, long misses) {
}
