package io.jvhost.ethdev;

/**
 * Basic counters of an ethdev port (rte_eth_stats_get).
 *
 * @param rxPackets packets received
 * @param txPackets packets sent
 * @param rxBytes bytes received
 * @param txBytes bytes sent
 * @param rxMissed packets dropped by the device for lack of room
 * @param rxErrors receive errors
 * @param txErrors transmit errors
 * @param rxNoMbuf receive failures for lack of mbufs
 */
public record EthStats(long rxPackets, long txPackets, long rxBytes, long txBytes, long rxMissed, long rxErrors,
        long txErrors, long rxNoMbuf) {
}
