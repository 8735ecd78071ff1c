package io.jvhost.loop;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/** One (port, queue pair) as its loop thread sees it: the batch and the device it serves now. */
final class QueueSlot {
    final VhostUserPort port;
    final int queuePair;
    final PacketBatch batch;
    /** The device the handler was told about last; null if none. Loop thread only. */
    private VhostDevice device;

    QueueSlot(PortQueue queue, int burst) {
        this.port = queue.port();
        this.queuePair = queue.queuePair();
        this.batch = PacketBatch.allocate(burst);
    }

    /**
     * One poll: follows the port's device, dequeues into an empty batch, calls the handler.
     *
     * @return the work done: packets received plus what the handler reported
     */
    int poll(BurstHandler handler, MbufPool pool, boolean receive) {
        VhostDevice d = port.currentDevice();
        if (d != null && !d.isAlive()) {
            d = null; // being destroyed: the port forgets it in a moment
        }
        if (d != device) {
            VhostDevice gone = device;
            device = d;
            if (gone != null) {
                handler.deviceGone(gone, queuePair, batch);
            }
            if (d != null) {
                handler.deviceReady(d, queuePair);
            }
        }
        if (d == null) {
            return 0;
        }
        int received = 0;
        if (receive && batch.isEmpty()) {
            received = d.dequeue(queuePair, pool, batch);
            if (received == 0) {
                return 0;
            }
        }
        int work = handler.onBurst(d, queuePair, batch, received);
        return received + Math.max(work, 0);
    }
}
