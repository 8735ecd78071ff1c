package io.jvhost.loop;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.sameInstance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The event loop against DPDK's virtio-user as the frontend, in this process: several ports on one
 * thread, ports split over two threads, frontends that leave and come back, a failing handler, and
 * an idle loop's CPU time.
 */
class EventLoopTest {
    @TempDir
    Path dir;
    MbufPool backendPool;
    MbufPool guestPool;

    @BeforeEach
    void pools() {
        SharedEal.get();
        backendPool = MbufPool.create(4095);
        guestPool = MbufPool.create(12287); // each guest fills its 1024-entry receive ring from it
    }

    @AfterEach
    void closePools() {
        assertThat("every backend mbuf is back once the loop is closed", backendPool.inUse(), equalTo(0));
        backendPool.close();
        guestPool.close();
    }

    /**
     * A loopback handler that counts, per port (by index in {@code ports}), what it received and
     * sent, and the threads it ran on; its counters are read after the loop closed (join).
     */
    static final class Loopback implements BurstHandler {
        final VhostUserPort[] ports;
        final long[] received;
        final long[] sent;
        final List<Set<String>> threads = new ArrayList<>();
        final List<String> events = new CopyOnWriteArrayList<>();

        Loopback(List<VhostUserPort> ports) {
            this.ports = ports.toArray(new VhostUserPort[0]);
            this.received = new long[ports.size()];
            this.sent = new long[ports.size()];
            for (int i = 0; i < ports.size(); i++) {
                threads.add(ConcurrentHashMap.newKeySet());
            }
        }

        int index(VhostUserPort port) {
            for (int i = 0; i < ports.length; i++) {
                if (ports[i] == port) {
                    return i;
                }
            }
            throw new AssertionError(port);
        }

        @Override
        public int onBurst(VhostDevice device, int queuePair, PacketBatch batch, int received) {
            int p = index(device.port());
            this.received[p] += received;
            int taken = device.enqueue(queuePair, batch);
            sent[p] += taken;
            return taken;
        }

        @Override
        public void deviceReady(VhostDevice device, int queuePair) {
            int p = index(device.port());
            threads.get(p).add(Thread.currentThread().getName());
            events.add("ready " + p + " vid " + device.vid());
        }

        @Override
        public void deviceGone(VhostDevice device, int queuePair, PacketBatch batch) {
            events.add("gone " + index(device.port()) + " vid " + device.vid() + " left " + batch.count());
            batch.clear();
        }
    }

    /** Sends {@code n} numbered packets from the guest and checks that each comes back, in order, byte-exact. */
    void echo(EthPort guest, int firstSeq, int n) {
        echo(guest, 0, firstSeq, n);
    }

    /** As {@link #echo(EthPort, int, int)}, on queue pair {@code q}. */
    void echo(EthPort guest, int q, int firstSeq, int n) {
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            sizes[i] = 60 + (i * 37) % 1400;
        }
        try (PacketBatch tx = PacketBatch.allocate(32); PacketBatch rx = PacketBatch.allocate(64)) {
            int[] sent = {0};
            int[] back = {0};
            boolean done = Traffic.pollUntil(30_000, () -> {
                if (tx.isEmpty() && sent[0] < n) {
                    int k = Math.min(32, n - sent[0]);
                    Traffic.fill(guestPool, tx, firstSeq + sent[0], Arrays.copyOfRange(sizes, sent[0], sent[0] + k));
                    sent[0] += k;
                }
                guest.txBurst(q, tx);
                guest.rxBurst(q, rx);
                for (int i = 0; i < rx.count(); i++) {
                    assertThat(Traffic.mismatch(rx.packet(i), firstSeq + back[0], sizes[back[0]]), nullValue());
                    back[0]++;
                }
                rx.clear();
                return back[0] == n;
            });
            assertThat(guest + ": packets back of " + n, back[0], equalTo(n));
            assertThat(done, equalTo(true));
        }
    }

    List<VhostUserPort> openPorts(int n) {
        List<VhostUserPort> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ports.add(VhostUserPort.builder(dir.resolve("p" + i)).open());
        }
        return ports;
    }

    static void closeAll(List<? extends AutoCloseable> all) throws Exception {
        for (AutoCloseable c : all) {
            c.close();
        }
    }

    @Test
    void severalPortsOnOneThreadEchoEveryPacketWithExactCounts() throws Exception {
        List<VhostUserPort> ports = openPorts(3);
        List<EthPort> guests = new ArrayList<>();
        Loopback handler = new Loopback(ports);
        try {
            for (VhostUserPort p : ports) {
                guests.add(EthPort.virtioUser(p.socket(), 1, true, guestPool));
            }
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler).threadName("loop-one")
                    .thread(null, PortQueue.all(ports)).start()) {
                assertThat(loop.threadNames(), equalTo(List.of("loop-one")));
                for (int round = 0; round < 2; round++) { // ports in turn, then again: none starves another
                    for (int i = 0; i < guests.size(); i++) {
                        echo(guests.get(i), 1000 * i + 500 * round, 300 + 7 * i);
                    }
                }
            }
            for (int i = 0; i < ports.size(); i++) {
                assertThat("port " + i + " received", handler.received[i], equalTo(2L * (300 + 7 * i)));
                assertThat("port " + i + " sent", handler.sent[i], equalTo(2L * (300 + 7 * i)));
                assertThat(handler.threads.get(i), equalTo(Set.of("loop-one")));
            }
        } finally {
            closeAll(guests);
            closeAll(ports);
        }
    }

    @Test
    void twoThreadsEachServeOnlyTheirOwnPorts() throws Exception {
        List<VhostUserPort> ports = openPorts(4);
        List<EthPort> guests = new ArrayList<>();
        Loopback handler = new Loopback(ports);
        try {
            for (VhostUserPort p : ports) {
                guests.add(EthPort.virtioUser(p.socket(), 1, true, guestPool));
            }
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler).threadName("loop-two")
                    .thread(null, new PortQueue(ports.get(0), 0), new PortQueue(ports.get(2), 0))
                    .thread(null, new PortQueue(ports.get(1), 0), new PortQueue(ports.get(3), 0)).start()) {
                assertThat(loop.threadNames(), equalTo(List.of("loop-two-0", "loop-two-1")));
                assertThat(loop.threadCount(), equalTo(2));
                for (int i = 0; i < guests.size(); i++) {
                    echo(guests.get(i), 1000 * i, 200 + i);
                }
            }
            for (int i = 0; i < ports.size(); i++) {
                assertThat("port " + i + " received", handler.received[i], equalTo(200L + i));
                assertThat("port " + i + " sent", handler.sent[i], equalTo(200L + i));
                assertThat("port " + i, handler.threads.get(i), equalTo(Set.of(i % 2 == 0 ? "loop-two-0" : "loop-two-1")));
            }
        } finally {
            closeAll(guests);
            closeAll(ports);
        }
    }

    @Test
    void theQueuePairsOfOnePortCanBelongToTwoThreads() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).maxQueuePairs(2).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 2, true, guestPool)) {
            port.awaitDevice(Duration.ofSeconds(10));
            long[] received = new long[2];
            List<Set<String>> threads = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
            List<String> ready = new CopyOnWriteArrayList<>();
            BurstHandler perQueue = new BurstHandler() {
                @Override
                public int onBurst(VhostDevice device, int queuePair, PacketBatch batch, int n) {
                    received[queuePair] += n; // one writer per queue pair: its owning thread
                    threads.get(queuePair).add(Thread.currentThread().getName());
                    return device.enqueue(queuePair, batch);
                }

                @Override
                public void deviceReady(VhostDevice device, int queuePair) {
                    ready.add(queuePair + " on " + Thread.currentThread().getName());
                }
            };
            try (EventLoop loop = EventLoop.builder(backendPool).handler(perQueue).threadName("loop-q")
                    .thread(null, new PortQueue(port, 1)).thread(null, new PortQueue(port, 0)).start()) {
                assertThat(loop.queues(), equalTo(List.of(new PortQueue(port, 1), new PortQueue(port, 0))));
                echo(guest, 0, 0, 120);
                echo(guest, 1, 500, 130);
            }
            assertThat(received[0], equalTo(120L));
            assertThat(received[1], equalTo(130L));
            assertThat(threads.get(0), equalTo(Set.of("loop-q-1")));
            assertThat(threads.get(1), equalTo(Set.of("loop-q-0")));
            assertThat("each thread saw the device for its own queue pair", Set.copyOf(ready),
                    equalTo(Set.of("1 on loop-q-0", "0 on loop-q-1")));
            assertThat(ready.size(), equalTo(2));
        }
    }

    /** Server mode: the guest connects again; client mode: jvhost reconnects to a restarted guest. */
    @ParameterizedTest(name = "client={0}")
    @ValueSource(booleans = {false, true})
    void aFrontendThatLeavesAndComesBackIsServedAgain(boolean client) throws Exception {
        Path sock = dir.resolve("s");
        try (VhostUserPort port = VhostUserPort.builder(sock).client(client).open()) {
            Loopback handler = new Loopback(List.of(port));
            List<Integer> vids = new ArrayList<>();
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler)
                    .thread(null, new PortQueue(port, 0)).start()) {
                for (int cycle = 0; cycle < 3; cycle++) {
                    EthPort guest = client
                            ? EthPort.createVdev("net_virtio_user_loop" + System.nanoTime(),
                                    "path=" + sock + ",server=1,queues=1,queue_size=1024", 1, 1024, guestPool)
                            : EthPort.virtioUser(sock, 1, true, guestPool);
                    VhostDevice d;
                    try (guest) {
                        d = port.awaitDevice(Duration.ofSeconds(15));
                        vids.add(d.vid());
                        echo(guest, 100 * cycle, 50 + cycle);
                    }
                    // the loop tells the handler once the device is gone (DPDK may reuse the vid)
                    long goneBefore = cycle + 1;
                    assertThat(Traffic.pollUntil(15_000, () -> handler.events.stream()
                            .filter(e -> e.startsWith("gone")).count() == goneBefore), equalTo(true));
                    if (client) {
                        Files.deleteIfExists(sock); // virtio-user in server mode leaves its socket behind
                    }
                }
                assertThat(loop.isRunning(), equalTo(true));
            }
            List<String> want = new ArrayList<>();
            for (int vid : vids) {
                want.add("ready 0 vid " + vid);
                want.add("gone 0 vid " + vid + " left 0");
            }
            assertThat(handler.events, equalTo(want));
            assertThat(handler.received[0], equalTo(50L + 51 + 52));
            assertThat(handler.sent[0], equalTo(50L + 51 + 52));
        }
    }

    @Test
    void aHandlerExceptionStopsTheLoopAndSurfacesAtClose() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, guestPool);
                PacketBatch tx = PacketBatch.allocate(4)) {
            port.awaitDevice(Duration.ofSeconds(10));
            IllegalArgumentException boom = new IllegalArgumentException("boom");
            List<Integer> stoppedCalls = new CopyOnWriteArrayList<>();
            EventLoop loop = EventLoop.builder(backendPool).threadName("loop-fails").handler(new BurstHandler() {
                @Override
                public int onBurst(VhostDevice device, int queuePair, PacketBatch batch, int received) {
                    throw boom; // with the received packets still in the batch: the loop frees them
                }

                @Override
                public void stopped(VhostUserPort p, int queuePair, PacketBatch batch) {
                    stoppedCalls.add(queuePair);
                }
            }).thread(null, new PortQueue(port, 0)).start();
            Traffic.fill(guestPool, tx, 0, 60, 61, 62, 63);
            assertThat(Traffic.pollUntil(10_000, () -> {
                guest.txBurst(0, tx);
                return tx.isEmpty();
            }), equalTo(true));
            assertThat("the failure stops the loop", Traffic.pollUntil(10_000, () -> !loop.isRunning()), equalTo(true));
            assertThat(backendPool.inUse(), equalTo(4)); // dequeued, in the loop's batch
            IllegalStateException e = assertThrows(IllegalStateException.class, loop::close);
            assertThat(e.getCause(), sameInstance(boom));
            assertThat(e.getMessage(), containsString("loop-fails"));
            assertThat(e.getMessage(), containsString("boom"));
            assertThat("no stopped call after a failure", stoppedCalls, equalTo(List.of()));
            loop.close(); // idempotent, and reports once
        }
    }

    @Test
    void anIdleLoopParksAndStillAnswersTheNextPacket() throws Exception {
        List<VhostUserPort> ports = openPorts(2);
        // port 0 has a connected but silent frontend, port 1 none
        try (EthPort guest = EthPort.virtioUser(ports.get(0).socket(), 1, true, guestPool)) {
            ports.get(0).awaitDevice(Duration.ofSeconds(10));
            Loopback handler = new Loopback(ports);
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler).threadName("loop-idle")
                    .idle(IdleStrategy.adaptive()).thread(null, PortQueue.all(ports)).start()) {
                long tid = threadId("loop-idle");
                java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
                Thread.sleep(200); // past the spins and yields
                long cpu0 = mx.getThreadCpuTime(tid);
                long wall0 = System.nanoTime();
                Thread.sleep(2_000);
                long cpu = mx.getThreadCpuTime(tid) - cpu0;
                long wall = System.nanoTime() - wall0;
                // busy polling would be close to 100 % of the wall time (less only when starved of CPU)
                assertThat("loop thread CPU " + cpu / 1e6 + " ms in " + wall / 1e6 + " ms idle", (double) cpu / wall,
                        lessThan(0.20));
                echo(guest, 7, 1);
                echo(guest, 8, 40);
            }
            assertThat(handler.received[0], equalTo(41L));
            assertThat(handler.sent[0], equalTo(41L));
        } finally {
            closeAll(ports);
        }
    }

    @Test
    void aRoundAllocatesNothing() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, guestPool)) {
            port.awaitDevice(Duration.ofSeconds(10));
            Loopback handler = new Loopback(List.of(port));
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler).threadName("loop-alloc")
                    .thread(null, new PortQueue(port, 0)).start()) {
                long tid = threadId("loop-alloc");
                com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                long[] allocated = new long[8];
                for (int round = 0; round < allocated.length; round++) { // the first half warms up (JIT)
                    long start = mx.getThreadAllocatedBytes(tid);
                    echo(guest, round * 2000, 2000); // about 100 bursts, idle rounds between them
                    allocated[round] = mx.getThreadAllocatedBytes(tid) - start;
                }
                // one allocation per burst would be at least 16 bytes x 100 a round
                long[] late = Arrays.copyOfRange(allocated, 4, 8);
                String rounds = "bytes the loop thread allocated per round of 2000 packets " + Arrays.toString(allocated);
                assertThat(rounds, Arrays.stream(late).max().getAsLong(), lessThanOrEqualTo(1024L));
                assertThat(rounds, Arrays.stream(late).min().getAsLong(), lessThanOrEqualTo(0L));
            }
        }
    }

    @Test
    void queuePairsTheFrontendDidNotSetUpAreQuietlyIdle() throws Exception {
        // A port offering two queue pairs, a frontend using one: polling the second must neither
        // fail nor make DPDK log "invalid virtqueue idx" on every poll (serve --queues 2 vs a
        // one-queue guest did, thousands of lines a second).
        try (io.jvhost.testing.CapturingHandler dpdk = io.jvhost.testing.CapturingHandler.install("dpdk");
                VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).maxQueuePairs(2).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, guestPool)) {
            VhostDevice device = port.awaitDevice(Duration.ofSeconds(10));
            assertThat(device.vringCount(), equalTo(2));
            Loopback handler = new Loopback(List.of(port));
            try (EventLoop loop = EventLoop.builder(backendPool).handler(handler)
                    .thread(null, PortQueue.all(List.of(port))).start()) {
                echo(guest, 0, 200);
                try (PacketBatch b = PacketBatch.allocate(8)) {
                    assertThat(device.dequeue(1, backendPool, b), equalTo(0));
                    assertThat(device.enqueue(1, b), equalTo(0));
                }
            }
            assertThat(handler.received[0], equalTo(200L));
            List<String> invalid = new ArrayList<>();
            for (java.util.logging.LogRecord r : dpdk.records()) {
                if (r.getMessage().contains("invalid virtqueue")) {
                    invalid.add(r.getMessage());
                }
            }
            assertThat(invalid.toString(), invalid.size(), equalTo(0));
        }
    }

    @Test
    void misuseIsRefusedClearly() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).maxQueuePairs(2).open()) {
            BurstHandler h = (d, q, b, n) -> 0;
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                    () -> EventLoop.builder(backendPool).handler(h).thread(null, new PortQueue(port, 0))
                            .thread(null, new PortQueue(port, 1), new PortQueue(port, 0)).start());
            assertThat(twice.getMessage(), containsString("twice"));
            assertThat(assertThrows(IllegalArgumentException.class, () -> new PortQueue(port, 2)).getMessage(),
                    containsString("outside 0..1"));
            assertThat(assertThrows(IllegalStateException.class,
                    () -> EventLoop.builder(backendPool).thread(null, PortQueue.all(List.of(port))).start()).getMessage(),
                    containsString("handler"));
            assertThat(assertThrows(IllegalStateException.class, () -> EventLoop.builder(backendPool).handler(h).start())
                    .getMessage(), containsString("thread"));
            IllegalArgumentException pin = assertThrows(IllegalArgumentException.class,
                    () -> EventLoop.builder(backendPool).handler(h).thread(new int[] {1000}, new PortQueue(port, 0))
                            .start());
            assertThat(pin.getMessage(), containsString("1000"));
            assertThat(pin, instanceOf(IllegalArgumentException.class));
        }
    }

    @Test
    void aHandlerCannotCloseItsOwnLoop() throws Exception {
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, guestPool)) {
            port.awaitDevice(Duration.ofSeconds(10));
            java.util.concurrent.atomic.AtomicReference<EventLoop> self = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            EventLoop loop = EventLoop.builder(backendPool).handler(new BurstHandler() {
                @Override
                public int onBurst(VhostDevice device, int queuePair, PacketBatch batch, int received) {
                    return 0;
                }

                @Override
                public void deviceReady(VhostDevice device, int queuePair) {
                    try {
                        started.await();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    self.get().close(); // would join itself: refused, and the refusal stops the loop
                }
            }).thread(null, new PortQueue(port, 0)).start();
            self.set(loop);
            started.countDown();
            assertThat(Traffic.pollUntil(10_000, () -> !loop.isRunning()), equalTo(true));
            IllegalStateException e = assertThrows(IllegalStateException.class, loop::close);
            assertThat(e.getCause().getMessage(), containsString("cannot be closed from its own thread"));
        }
    }

    /** The id of the live thread of that name. */
    static long threadId(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(name)) {
                return t.getId();
            }
        }
        throw new AssertionError("no thread named " + name);
    }

}
