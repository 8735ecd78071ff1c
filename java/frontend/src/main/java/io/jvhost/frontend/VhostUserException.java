package io.jvhost.frontend;

import java.io.IOException;

/**
 * The vhost-user conversation with a backend failed: the backend rejected a request (a non-zero
 * {@code REPLY_ACK}), sent something that breaks the protocol, closed the connection, or did not
 * answer in time (see {@link VhostUserTimeoutException}).
 */
public class VhostUserException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message what was being done and what went wrong */
    public VhostUserException(String message) {
        super(message);
    }

    /**
     * @param message what was being done and what went wrong
     * @param cause the underlying I/O error
     */
    public VhostUserException(String message, Throwable cause) {
        super(message, cause);
    }
}
