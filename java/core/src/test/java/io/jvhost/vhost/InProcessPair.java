package io.jvhost.vhost;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.Traffic;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.nullValue;

/**
 * A jvhost port with DPDK's own virtio-user connected to it in the same process: a real frontend,
 * DPDK's, with no process to manage.
 */
final class InProcessPair implements AutoCloseable {
    final Path dir;
    final VhostUserPort port;
    final EthPort guest;
    final VhostDevice device;
    final List<String> events;

    private InProcessPair(Path dir, VhostUserPort port, EthPort guest, VhostDevice device, List<String> events) {
        this.dir = dir;
        this.port = port;
        this.guest = guest;
        this.device = device;
        this.events = events;
    }

    /** The transfer helpers for a port, guest and device made elsewhere (not closed by it). */
    static InProcessPair wrap(VhostUserPort port, EthPort guest, VhostDevice device) {
        return new InProcessPair(null, port, guest, device, List.of());
    }

    /** A listener that records every event as text. */
    static VhostListener recorder(List<String> events) {
        return new VhostListener() {
            @Override
            public void newDevice(VhostDevice d) {
                events.add("new " + d.vid());
            }

            @Override
            public void destroyDevice(VhostDevice d) {
                events.add("destroy " + d.vid());
            }

            @Override
            public void vringStateChanged(VhostUserPort p, int vid, int vring, boolean enabled) {
                events.add("vring " + vid + " " + vring + " " + enabled);
            }

            @Override
            public void featuresChanged(VhostUserPort p, int vid, long features) {
                events.add("features " + vid);
            }
        };
    }

    static InProcessPair open(int queues, boolean mergeable, MbufPool guestPool) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("jvhost-test");
        List<String> events = new CopyOnWriteArrayList<>();
        VhostUserPort port = VhostUserPort.builder(dir.resolve("vhost.sock")).maxQueuePairs(queues)
                .listener(recorder(events)).open();
        EthPort guest = null;
        try {
            guest = EthPort.virtioUser(port.socket(), queues, mergeable, guestPool);
            VhostDevice device = port.awaitDevice(Duration.ofSeconds(10));
            return new InProcessPair(dir, port, guest, device, events);
        } catch (RuntimeException | InterruptedException e) {
            if (guest != null) {
                guest.close();
            }
            port.close();
            throw e;
        }
    }

    /** Guest transmits, jvhost dequeues: every packet arrives once, in order, byte-exact. */
    void guestToBackend(MbufPool txPool, MbufPool rxPool, int queue, int firstSeq, int[] sizes) {
        transfer("guest to backend", txPool, firstSeq, sizes, tx -> guest.txBurst(queue, tx),
                rx -> device.dequeue(queue, rxPool, rx));
    }

    /** jvhost enqueues, the guest receives: every packet arrives once, in order, byte-exact. */
    void backendToGuest(MbufPool txPool, int queue, int firstSeq, int[] sizes) {
        transfer("backend to guest", txPool, firstSeq, sizes, tx -> device.enqueue(queue, tx),
                rx -> guest.rxBurst(queue, rx));
    }

    /** Sends the sizes' packets through {@code send} and checks each arriving through {@code receive}. */
    private static void transfer(String direction, MbufPool txPool, int firstSeq, int[] sizes,
            java.util.function.Consumer<PacketBatch> send, java.util.function.Consumer<PacketBatch> receive) {
        try (PacketBatch tx = PacketBatch.allocate(32); PacketBatch rx = PacketBatch.allocate(64)) {
            int[] sent = {0};
            int[] received = {0};
            boolean done = Traffic.pollUntil(30_000, () -> {
                if (tx.isEmpty() && sent[0] < sizes.length) {
                    int n = Math.min(32, sizes.length - sent[0]);
                    Traffic.fill(txPool, tx, firstSeq + sent[0], java.util.Arrays.copyOfRange(sizes, sent[0], sent[0] + n));
                    sent[0] += n;
                }
                send.accept(tx);
                receive.accept(rx);
                for (int i = 0; i < rx.count(); i++) {
                    assertThat(Traffic.mismatch(rx.packet(i), firstSeq + received[0], sizes[received[0]]), nullValue());
                    received[0]++;
                }
                rx.clear();
                return received[0] == sizes.length;
            });
            if (!done) {
                throw new AssertionError(direction + ": " + received[0] + " of " + sizes.length + " received");
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            guest.close();
        } finally {
            port.close();
            Files.deleteIfExists(dir.resolve("vhost.sock"));
            Files.deleteIfExists(dir);
        }
    }
}
