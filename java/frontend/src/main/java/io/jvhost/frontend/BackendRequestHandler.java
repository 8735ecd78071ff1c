package io.jvhost.frontend;

/**
 * Handles what the backend sends on the backend-request ("slave") channel. Called on the
 * connection's reader thread, one message at a time.
 */
@FunctionalInterface
public interface BackendRequestHandler {
    /**
     * The backend reports an IOTLB miss ({@code VHOST_IOTLB_MISS}) or access failure.
     *
     * @param type {@link VhostUserProtocol#IOTLB_MISS} or another IOTLB message type
     * @param iova the IO virtual address the backend could not translate
     * @param perm the access it needs: 1 read, 2 write, 3 both
     * @param receivedNanos {@link System#nanoTime()} when the message was read
     * @return the value of the reply if the backend asked for one: 0 success, non-zero failure
     */
    long onIotlbMessage(int type, long iova, int perm, long receivedNanos);
}
