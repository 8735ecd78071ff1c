package io.jvhost.loop;

import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/**
 * What an {@link EventLoop} does with the packets of its queues. Every method runs on the loop
 * thread that owns the queue pair, never on two threads at once for one queue pair; a handler
 * shared by several threads must make its own shared state safe.
 *
 * <p>Ownership of packets: each (port, queue pair) has one batch, owned by the loop. The loop
 * dequeues from the guest only into an <em>empty</em> batch. Packets the handler leaves in the
 * batch (e.g. what a full guest ring did not take after
 * {@link VhostDevice#enqueue(int, PacketBatch)}) stay there and are offered to the handler again on
 * the next rounds, and nothing more is dequeued for that queue pair meanwhile: back-pressure to
 * the sending guest. The handler may free them ({@link PacketBatch#clear()}) at any time, e.g. after a
 * hold time. It must not close the batch or keep it past the call.
 *
 * <p>An exception thrown by any method stops the whole loop; {@link EventLoop#close()} throws it
 * (as the cause of an {@link IllegalStateException}).
 */
@FunctionalInterface
public interface BurstHandler {
    /**
     * A round of a queue pair whose port has a live device: called when its batch holds packets
     * (just dequeued or left by earlier calls), and on every round if the loop does not
     * {@linkplain EventLoop.Builder#receive(boolean) receive} (a generator fills the batch itself).
     *
     * @param device the port's current device
     * @param queuePair the queue pair
     * @param batch the queue pair's batch
     * @param received how many packets at the end of the batch were dequeued in this round: either
     *     all of them, or 0 when the batch holds only packets left by earlier calls
     * @return the work done (e.g. packets sent), 0 for none: with {@code received}, what tells the
     *     {@link IdleStrategy} whether the round was empty
     */
    int onBurst(VhostDevice device, int queuePair, PacketBatch batch, int received);

    /**
     * The loop thread owning the queue pair saw a new live device on its port (a frontend
     * connected, or reconnected); called before its first {@link #onBurst}.
     *
     * @param device the device
     * @param queuePair the queue pair
     */
    default void deviceReady(VhostDevice device, int queuePair) {
    }

    /**
     * The device the queue pair was served for went away (the frontend left, or another device
     * replaced it). Its data path already returns 0. The default frees the packets still in the
     * batch; a handler may instead keep them (for another port's device, say): they are offered
     * with the port's next device.
     *
     * @param device the device that went away
     * @param queuePair the queue pair
     * @param batch the queue pair's batch, with the packets not sent yet
     */
    default void deviceGone(VhostDevice device, int queuePair, PacketBatch batch) {
        batch.clear();
    }

    /**
     * The loop is stopping: the last call for this queue pair, on its thread, whatever its
     * device's state (not made if the loop stopped because the handler failed). Packets left in
     * the batch afterwards are freed by the loop.
     *
     * @param port the port
     * @param queuePair the queue pair
     * @param batch the queue pair's batch
     */
    default void stopped(VhostUserPort port, int queuePair, PacketBatch batch) {
    }
}
