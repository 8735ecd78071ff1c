package io.jvhost.vhost;

/**
 * A vring's statistics as rte_vhost_vring_stats_get returns them, built by
 * native/vhost_device.c; {@link VhostDevice#stats} makes the public map of them.
 *
 * @param names DPDK's names, in its order
 * @param values the value of each name, same index
 */
record VringStatistics(String[] names, long[] values) {
}
