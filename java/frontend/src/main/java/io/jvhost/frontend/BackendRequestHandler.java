package io.jvhost.frontend;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.VhostIotlbMsg;

/**
 * Handles what the backend sends on the backend-request ("slave") channel ({@link
 * io.jvhost.protocol.BackendRequest#IOTLB_MSG}). Called on the
 * connection's reader thread, one message at a time.
 */
@FunctionalInterface
public interface BackendRequestHandler {
    /**
     * The backend reports an IOTLB miss ({@code VHOST_IOTLB_MISS}) or access failure.
     *
     * @param msg the message as the backend sent it: a MISS (or another type), the IO virtual
     *     address it could not translate, the {@link io.jvhost.protocol.Access} it needs (perm and
     *     type may be any byte: see {@link VhostIotlbMsg#isValid()})
     * @param receivedNanos {@link System#nanoTime()} when the message was read
     * @return the value of the reply if the backend asked for one: 0 success, non-zero failure
     */
    long onIotlbMessage(VhostIotlbMsg msg, long receivedNanos);
}
