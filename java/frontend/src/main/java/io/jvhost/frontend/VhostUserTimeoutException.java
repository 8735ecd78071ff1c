package io.jvhost.frontend;

/** The backend did not answer (or connect) within the configured timeout. */
public class VhostUserTimeoutException extends VhostUserException {
    private static final long serialVersionUID = 1L;

    /** @param message what was awaited */
    public VhostUserTimeoutException(String message) {
        super(message);
    }

    /**
     * @param message what was awaited
     * @param cause the socket timeout
     */
    public VhostUserTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
