package io.jvhost.eal;

import java.util.List;

/**
 * DPDK's EAL refused to start or stop. Carries DPDK's own account: {@code rte_errno}, its
 * {@code rte_strerror} text and the log lines EAL printed while it tried.
 */
public class EalException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** DPDK's rte_errno, 0 if none. */
    private final int errno;
    /** rte_strerror(errno), empty if none. */
    private final String dpdkMessage;
    /** What DPDK logged meanwhile. */
    private final List<String> logLines;

    /**
     * @param summary what jvhost was doing, and what that means for the caller
     * @param errno DPDK's rte_errno (0 if none)
     * @param dpdkMessage rte_strerror(errno) (empty if none)
     * @param logLines what DPDK logged meanwhile
     */
    public EalException(String summary, int errno, String dpdkMessage, List<String> logLines) {
        super(format(summary, errno, dpdkMessage, logLines));
        this.errno = errno;
        this.dpdkMessage = dpdkMessage;
        this.logLines = List.copyOf(logLines);
    }

    private static String format(String summary, int errno, String dpdkMessage, List<String> logLines) {
        StringBuilder sb = new StringBuilder(summary);
        if (errno != 0) {
            sb.append(": ").append(dpdkMessage).append(" (rte_errno ").append(errno).append(')');
        }
        if (!logLines.isEmpty()) {
            sb.append("; DPDK said:");
            for (String line : logLines) {
                sb.append("\n  ").append(line);
            }
        }
        return sb.toString();
    }

    /** @return DPDK's rte_errno, 0 if there was none */
    public int errno() {
        return errno;
    }

    /** @return rte_strerror of {@link #errno()} */
    public String dpdkMessage() {
        return dpdkMessage;
    }

    /** @return the lines DPDK logged on the failing call's thread */
    public List<String> logLines() {
        return logLines;
    }
}
