package io.jvhost.vhost;

/**
 * A vring of a live device, as librte_vhost sees it.
 *
 * @param descAddress backend address of the descriptor table
 * @param availAddress backend address of the available ring
 * @param usedAddress backend address of the used ring
 * @param logGuestAddress guest address of the used ring for dirty logging
 * @param size number of descriptors
 * @param kickFd the kick eventfd (-1: none, polled)
 * @param callFd the call eventfd (-1: none)
 * @param lastAvailIndex next available index the backend will read
 * @param lastUsedIndex next used index the backend will write
 */
public record VringInfo(long descAddress, long availAddress, long usedAddress, long logGuestAddress, int size,
        int kickFd, int callFd, int lastAvailIndex, int lastUsedIndex) {
}
