package io.jvhost.vhost;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.TestPmd;
import io.jvhost.testing.Traffic;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** jvhost's backend against dpdk-testpmd's net_virtio_user in another process. */
class TestPmdFrontendTest {
    private static MbufPool pool;

    @BeforeAll
    static void setUp() {
        SharedEal.get();
        pool = MbufPool.create(null, 8192, 256, MbufPool.DEFAULT_DATA_ROOM);
    }

    @AfterAll
    static void tearDown() {
        assertThat("every mbuf came back", pool.inUse(), equalTo(0));
        pool.close();
    }

    /** Dequeues everything from queue pair 0 of whatever device is live, counting. */
    private static final class Sink implements AutoCloseable {
        final AtomicLong packets = new AtomicLong();
        final AtomicLong lastArrival = new AtomicLong(System.nanoTime());
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Sink(VhostUserPort port) {
            thread = new Thread(() -> {
                try (PacketBatch b = PacketBatch.allocate(64)) {
                    while (running.get()) {
                        for (VhostDevice d : port.devices()) {
                            int n = d.dequeue(0, pool, b);
                            if (n > 0) {
                                packets.addAndGet(n);
                                lastArrival.set(System.nanoTime());
                                b.clear();
                            }
                        }
                    }
                }
            }, "sink");
            thread.start();
        }

        void awaitQuiet(long millis) throws InterruptedException {
            while (System.nanoTime() - lastArrival.get() < millis * 1_000_000L) {
                Thread.sleep(20);
            }
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }

    @Test
    void txonlyFrontendCountsMatchExactly() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-tp");
        List<String> events = new CopyOnWriteArrayList<>();
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).listener(InProcessPair.recorder(events)).open();
                Sink sink = new Sink(port);
                TestPmd tp = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=txonly", "--txpkts=64")) {
            VhostDevice d = port.awaitDevice(Duration.ofSeconds(20));
            tp.command("start");
            Thread.sleep(1000);
            String stop = tp.command("stop");
            sink.awaitQuiet(300);
            long sent = TestPmd.counter(stop, "TX-packets");
            assertThat(sent, greaterThan(1000L));
            assertThat("every packet testpmd put in the ring was dequeued once", sink.packets.get(), equalTo(sent));
            assertThat(d.stats(1).get("good_packets"), equalTo(sent));
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void rxonlyFrontendReceivesEveryPacket() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-tp");
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                TestPmd tp = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=rxonly");
                PacketBatch b = PacketBatch.allocate(32)) {
            VhostDevice d = port.awaitDevice(Duration.ofSeconds(20));
            tp.command("start");
            int total = 200_000;
            int[] filled = {0};
            long[] taken = {0};
            boolean done = Traffic.pollUntil(60_000, () -> {
                if (b.isEmpty() && filled[0] < total) {
                    int n = Math.min(32, total - filled[0]);
                    b.allocate(pool, n);
                    for (int i = 0; i < n; i++) {
                        byte[] c = Traffic.content(filled[0] + i, 64);
                        b.packet(i).setData(c, 0, c.length);
                    }
                    filled[0] += n;
                }
                taken[0] += d.enqueue(0, b); // what the ring did not take stays in b: retried
                return taken[0] == total;
            });
            assertThat("all " + total + " enqueued (" + taken[0] + ")", done, equalTo(true));
            Thread.sleep(500);
            String stop = tp.command("stop");
            assertThat(TestPmd.counter(stop, "RX-packets"), equalTo((long) total));
            assertThat(d.stats(0).get("good_packets"), equalTo((long) total));
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void tenFrontendsKilledMidBurstLeakNothing() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-tp");
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open(); Sink sink = new Sink(port)) {
            long fdsBefore = -1;
            for (int cycle = 0; cycle < 10; cycle++) {
                TestPmd tp = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=txonly");
                VhostDevice d = port.awaitDevice(Duration.ofSeconds(20));
                tp.command("start");
                long before = sink.packets.get();
                assertThat(Traffic.pollUntil(10_000, () -> sink.packets.get() > before + 1000), equalTo(true));
                tp.kill();
                assertThat(Traffic.pollUntil(10_000, () -> !d.isAlive()), equalTo(true));
                sink.awaitQuiet(100);
                if (cycle == 1) {
                    Thread.sleep(500); // the killed process's pipes close
                    try (java.util.stream.Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
                        fdsBefore = s.count();
                    }
                }
            }
            // pipes of the killed processes close asynchronously (their reader threads see EOF)
            long limit = fdsBefore;
            assertThat("no fd leaked over 8 killed frontends", Traffic.pollUntil(5_000, () -> {
                try (java.util.stream.Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
                    return s.count() <= limit;
                } catch (java.io.IOException e) {
                    return false;
                }
            }), equalTo(true));
        }
        assertThat("every mbuf of the killed frontends' traffic came back", pool.inUse(), equalTo(0));
        Files.deleteIfExists(dir);
    }

    @Test
    void frontendKilledMidBurstLeavesTheBackendWorking() throws Exception {
        Path dir = Files.createTempDirectory("jvhost-tp");
        List<String> events = new CopyOnWriteArrayList<>();
        try (VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).listener(InProcessPair.recorder(events)).open();
                Sink sink = new Sink(port)) {
            TestPmd first = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=txonly");
            VhostDevice d1 = port.awaitDevice(Duration.ofSeconds(20));
            first.command("start");
            Thread.sleep(300);
            first.kill(); // SIGKILL while it transmits
            // the listener runs just after the data path stopped (isAlive turns false first)
            assertThat(events.toString(), Traffic.pollUntil(10_000,
                    () -> events.get(events.size() - 1).equals("destroy " + d1.vid())), equalTo(true));
            assertThat(d1.isAlive(), equalTo(false));
            long before = sink.packets.get();
            assertThat(before, greaterThan(0L));

            // the same port serves the next frontend
            try (TestPmd second = TestPmd.start("net_virtio_user0,path=" + port.socket(), "--forward-mode=txonly")) {
                VhostDevice d2 = port.awaitDevice(Duration.ofSeconds(20));
                second.command("start");
                Thread.sleep(300);
                String stop = second.command("stop");
                sink.awaitQuiet(300);
                assertThat(sink.packets.get() - before, equalTo(TestPmd.counter(stop, "TX-packets")));
                assertThat(d2.isAlive(), equalTo(true));
            }
        }
        Files.deleteIfExists(dir);
    }
}
