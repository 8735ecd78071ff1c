package io.jvhost.testing;

import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostListener;
import java.util.List;

/** A listener that records "new VID" and "destroy VID" in the order DPDK calls them. */
public final class EventLog implements VhostListener {
    private final List<String> events;

    /** @param events where the lines go (a thread-safe list: callbacks run on DPDK's threads) */
    public EventLog(List<String> events) {
        this.events = events;
    }

    @Override
    public void newDevice(VhostDevice d) {
        events.add("new " + d.vid());
    }

    @Override
    public void destroyDevice(VhostDevice d) {
        events.add("destroy " + d.vid());
    }
}
