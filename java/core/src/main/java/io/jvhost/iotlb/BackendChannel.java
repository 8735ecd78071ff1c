package io.jvhost.iotlb;

import io.jvhost.protocol.MessageHeader;
import io.jvhost.protocol.VhostIotlbMsg;
import java.util.ArrayDeque;

/**
 * The Java engines' stand-in for a device's backend-request channel: the IOTLB MISS messages
 * "sent" to the frontend, in order. One channel may serve several caches (a device's virtqueues
 * share one). At most {@link #CAPACITY} unpolled messages are kept; older ones are dropped, as the
 * native engine's buffer does. Not thread-safe.
 */
public final class BackendChannel {
    /** Unpolled messages kept at most (1 MiB of 44-byte messages, as in the native shim). */
    public static final int CAPACITY = (1 << 20) / (MessageHeader.BYTES + VhostIotlbMsg.BYTES);

    private final ArrayDeque<IotlbMiss> sent = new ArrayDeque<>();
    private boolean connected = true;
    private long dropped;

    /**
     * @param miss what to send
     * @return false if the frontend is disconnected (the send fails)
     */
    public boolean send(IotlbMiss miss) {
        if (!connected) {
            return false;
        }
        if (sent.size() == CAPACITY) {
            sent.pollFirst();
            dropped++;
        }
        sent.addLast(miss);
        return true;
    }

    /** @return the oldest unpolled message, or null */
    public IotlbMiss poll() {
        return sent.pollFirst();
    }

    /** The frontend goes away: later sends fail. */
    public void disconnect() {
        connected = false;
    }

    /** @return whether sends still succeed */
    public boolean isConnected() {
        return connected;
    }

    /** @return messages dropped because too many were left unpolled */
    public long dropped() {
        return dropped;
    }
}
