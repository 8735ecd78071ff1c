package io.jvhost.vhost;

import java.util.List;

/** librte_vhost refused something; carries what DPDK logged meanwhile. */
public class VhostException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** DPDK's log lines on the failing thread. */
    private final List<String> logLines;

    /**
     * @param message what failed
     * @param logLines DPDK's log lines on the failing thread
     */
    public VhostException(String message, List<String> logLines) {
        super(logLines.isEmpty() ? message : message + "; DPDK said:\n  " + String.join("\n  ", logLines));
        this.logLines = List.copyOf(logLines);
    }

    /** @return what DPDK logged while it failed */
    public List<String> logLines() {
        return logLines;
    }
}
