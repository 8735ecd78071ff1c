package io.jvhost.misuse;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.eal.EalException;
import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.Access;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostException;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Random sequences of public API calls, right and wrong: closed and foreign handles, use after
 * close, bad queue ids, negative and oversized lengths, calls from unregistered threads, close
 * while another thread bursts. Every call must either work or throw one of the documented
 * exceptions; anything else, a JVM crash or an abort fails the run. Runs in a child JVM (see
 * MisuseFuzzTest): {@code MisuseFuzz <seed> <sequences>}. Prints the seed of a failure.
 */
public final class MisuseFuzz {
    /** Whether to make in-process virtio-user guests (-Djvhost.fuzz.guests=false: not). */
    private static final boolean GUESTS = Boolean.parseBoolean(System.getProperty("jvhost.fuzz.guests", "true"));
    private static final int MAX_DEVICES = Integer.getInteger("jvhost.fuzz.devices", 40);
    private final SplittableRandom rnd;
    private final Path dir;
    private final List<MbufPool> pools = new ArrayList<>();
    private final List<PacketBatch> batches = new ArrayList<>();
    private final List<VhostUserPort> ports = new ArrayList<>();
    private final List<EthPort> guests = new ArrayList<>();
    private final List<VhostDevice> devices = new ArrayList<>();
    private int socketCounter;
    private int devicesMade;
    private long calls;
    private long refused;
    private long moved;

    private MisuseFuzz(long seed, Path dir) {
        this.rnd = new SplittableRandom(seed);
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[0]);
        int sequences = Integer.parseInt(args[1]);
        Path dir = Files.createTempDirectory("jvhost-fuzz");
        System.out.println("misuse fuzz: seed " + seed + ", " + sequences + " sequences");
        // Before EAL: everything that needs it must refuse cleanly.
        expectRefusal(() -> MbufPool.create(64));
        expectRefusal(() -> VhostUserPort.builder(dir.resolve("early")).open());
        expectRefusal(() -> Eal.require());
        try (Eal eal = Eal.start(EalConfig.builder().memoryMb(512).build())) {
            MisuseFuzz f = new MisuseFuzz(seed, dir);
            f.startWatchdog();
            for (int s = 0; s < sequences; s++) {
                f.sequence(s);
            }
            f.cleanUp();
            System.out.println("misuse fuzz: " + f.calls + " calls, " + f.refused + " refused with a clear exception, "
                    + f.devicesMade + " devices, " + f.moved + " packets moved by bursts");
        }
        System.out.println("MISUSE FUZZ PASSED seed " + seed);
    }

    private static void expectRefusal(Runnable r) {
        try {
            r.run();
            throw new AssertionError("no refusal");
        } catch (IllegalStateException | IllegalArgumentException e) {
            // expected
        }
    }

    private final java.util.ArrayDeque<String> recent = new java.util.ArrayDeque<>();
    private volatile long stepStarted = System.nanoTime();

    /** Dumps the last operations and exits if one call hangs: a hang is a finding too. */
    private void startWatchdog() {
        Thread w = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                if (System.nanoTime() - stepStarted > 30_000_000_000L) {
                    synchronized (recent) {
                        System.out.println("HANG: a call took over 30 s; last operations:");
                        recent.forEach(r -> System.out.println("  " + r));
                    }
                    Thread.getAllStackTraces().forEach((t, st) -> {
                        System.out.println("thread " + t.getName());
                        for (StackTraceElement e : st) {
                            System.out.println("    at " + e);
                        }
                    });
                    System.out.flush();
                    Runtime.getRuntime().halt(5);
                }
            }
        }, "fuzz-watchdog");
        w.setDaemon(true);
        w.start();
    }

    private void sequence(int s) throws Exception {
        int length = 1 + rnd.nextInt(30);
        for (int i = 0; i < length; i++) {
            int op = rnd.nextInt(100);
            calls++;
            stepStarted = System.nanoTime();
            synchronized (recent) {
                recent.addLast("seq " + s + " op " + op + " ports=" + ports + " guests=" + guests + " pools=" + pools);
                if (recent.size() > 40) {
                    recent.removeFirst();
                }
            }
            try {
                step(op);
            } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException | NullPointerException
                    | EalException | VhostException e) {
                refused++;
            }
        }
        // bound what a sequence leaves behind
        while (batches.size() > 16) {
            batches.remove(0).close();
        }
    }

    private <T> T pick(List<T> list) {
        return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
    }

    private int wild() {
        switch (rnd.nextInt(6)) {
            case 0: return -1 - rnd.nextInt(1000);
            case 1: return Integer.MAX_VALUE - rnd.nextInt(10);
            case 2: return Integer.MIN_VALUE;
            case 3: return rnd.nextInt(70_000);
            default: return rnd.nextInt(8);
        }
    }

    private long wildLong() {
        switch (rnd.nextInt(5)) {
            case 0: return rnd.nextLong();
            case 1: return -1L - rnd.nextInt(100);
            case 2: return 0;
            case 3: return Long.MAX_VALUE;
            default: return rnd.nextInt(1 << 20);
        }
    }

    private void step(int op) throws Exception {
        if (op < 4) {
            if (pools.stream().filter(MbufPool::isOpen).count() < 4) {
                if (pools.size() >= 8) {
                    pools.removeIf(x -> !x.isOpen()); // keep a few stale handles, not all
                }
                pools.add(MbufPool.create(null, 64 + rnd.nextInt(2048), rnd.nextInt(2) * 32,
                        rnd.nextBoolean() ? MbufPool.DEFAULT_DATA_ROOM : wild()));
            }
        } else if (op < 7) {
            MbufPool p = pick(pools);
            if (p != null) {
                p.close(); // refused while in use; closed pools stay in the list as stale handles
            }
        } else if (op < 14) {
            batches.add(PacketBatch.allocate(rnd.nextBoolean() ? 1 + rnd.nextInt(64) : wild()));
        } else if (op < 17) {
            PacketBatch b = pick(batches);
            if (b != null) {
                b.close();
            }
        } else if (op < 27) {
            PacketBatch b = pick(batches);
            MbufPool p = pick(pools);
            if (b != null && p != null) {
                int n = rnd.nextBoolean() ? rnd.nextInt(b.capacity() + 1) : wild();
                if (rnd.nextBoolean()) {
                    b.allocate(p, n);
                } else {
                    // templates direct or not, of any size, for lengths in and out of range
                    ByteBuffer t = rnd.nextBoolean() ? ByteBuffer.allocateDirect(rnd.nextInt(200))
                            : ByteBuffer.allocate(rnd.nextInt(200));
                    b.allocate(p, n, t, rnd.nextBoolean() ? t.remaining() + rnd.nextInt(3000) : wild());
                }
            }
        } else if (op < 37) {
            PacketBatch b = pick(batches);
            if (b != null) {
                int idx = rnd.nextBoolean() && b.count() > 0 ? rnd.nextInt(b.count()) : wild();
                switch (rnd.nextInt(5)) {
                    case 0 -> b.packet(idx).setData(new byte[rnd.nextInt(10_000)], wild(), wild());
                    case 1 -> b.packet(idx).setData(new byte[100 + rnd.nextInt(5000)], 0, rnd.nextInt(100));
                    case 2 -> b.packet(idx).copyTo(wild(), new byte[rnd.nextInt(3000)], wild(), wild());
                    case 3 -> b.packet(idx).getByte(wild());
                    default -> b.packet(idx).toByteArray();
                }
            }
        } else if (op < 40) {
            PacketBatch b = pick(batches);
            if (b != null) {
                if (rnd.nextBoolean()) {
                    b.clear();
                } else {
                    b.freeFirst(wild());
                }
            }
        } else if (op < 42) {
            if (ports.size() < 3) {
                Path sock = rnd.nextInt(10) == 0 ? dir.resolve("missing/dir/s") : dir.resolve("s" + socketCounter++);
                ports.add(VhostUserPort.builder(sock).iommu(rnd.nextBoolean()).maxQueuePairs(1 + rnd.nextInt(2)).open());
            }
        } else if (op < 44) {
            VhostUserPort port = pick(ports);
            MbufPool p = pick(pools);
            // a guest costs up to a second (DPDK's vhost-events thread polls new sockets once a
            // second): a budget keeps the run's time bounded
            if (GUESTS && devicesMade < MAX_DEVICES && port != null && p != null && port.isOpen()
                    && port.currentDevice() == null && guests.size() < 3) {
                EthPort g = EthPort.virtioUser(port.socket(), 1, rnd.nextBoolean(), p);
                guests.add(g);
                devices.add(port.awaitDevice(Duration.ofSeconds(10)));
                devicesMade++;
            }
        } else if (op < 46) {
            EthPort g = pick(guests);
            if (g != null) {
                g.close();
                guests.remove(g);
            }
        } else if (op < 48) {
            VhostUserPort port = pick(ports);
            if (port != null) {
                if (rnd.nextBoolean()) {
                    closeWhileBursting(port);
                } else {
                    port.close();
                }
                ports.remove(port);
            }
        } else if (op < 70) {
            VhostDevice d = pick(devices);
            PacketBatch b = pick(batches);
            MbufPool p = pick(pools);
            if (d != null && b != null) {
                int q = rnd.nextInt(4) == 0 ? wild() : 0;
                if (rnd.nextBoolean()) {
                    moved += d.enqueue(q, b);
                } else if (p != null) {
                    moved += d.dequeue(q, p, b);
                }
            }
        } else if (op < 80) {
            VhostDevice d = pick(devices);
            if (d != null) {
                switch (rnd.nextInt(7)) {
                    case 0 -> d.features();
                    case 1 -> d.memoryRegions();
                    case 2 -> d.vring(wild());
                    case 3 -> d.stats(rnd.nextInt(3));
                    case 4 -> d.gpaToVva(wildLong(), wildLong());
                    case 5 -> d.iovaToVva(rnd.nextInt(3), wildLong(), wildLong(), Access.values()[rnd.nextInt(4)]);
                    default -> d.read(wildLong(), new byte[rnd.nextInt(100)], wild(), wild());
                }
            }
        } else if (op < 85) {
            EthPort g = pick(guests);
            PacketBatch b = pick(batches);
            MbufPool p = pick(pools);
            if (g != null && b != null) {
                if (rnd.nextBoolean()) {
                    g.rxBurst(rnd.nextInt(4) == 0 ? wild() : 0, b);
                } else {
                    if (p != null && b.remaining() > 0 && b.allocate(p, 1)) {
                        b.packet(b.count() - 1).setData(new byte[64], 0, 64); // something to dequeue
                    }
                    g.txBurst(rnd.nextInt(4) == 0 ? wild() : 0, b);
                }
            }
        } else if (op < 90) {
            // the data path from another, unregistered thread
            VhostDevice d = pick(devices);
            PacketBatch b = pick(batches);
            if (d != null && b != null) {
                Throwable[] t = new Throwable[1];
                Thread th = new Thread(() -> {
                    try {
                        d.enqueue(0, b);
                    } catch (IllegalArgumentException | IllegalStateException e) {
                        // fine
                    } catch (Throwable e) {
                        t[0] = e;
                    }
                });
                th.start();
                th.join();
                if (t[0] != null) {
                    throw new AssertionError("from another thread: " + t[0], t[0]);
                }
            }
        } else {
            Eal eal = Eal.require();
            switch (rnd.nextInt(3)) {
                case 0 -> eal.registerThread().close();
                case 1 -> eal.own(null);
                default -> Eal.start(); // a second start: EalException
            }
        }
    }

    /** Closes a port while another thread runs bursts on its device. */
    private void closeWhileBursting(VhostUserPort port) throws Exception {
        VhostDevice d = port.currentDevice();
        MbufPool p = pick(pools);
        if (d == null || p == null || !p.isOpen()) {
            port.close();
            return;
        }
        Throwable[] failure = new Throwable[1];
        AtomicBoolean bursting = new AtomicBoolean(true);
        Thread t = new Thread(() -> {
            try (PacketBatch b = PacketBatch.allocate(32)) {
                while (bursting.get()) {
                    d.dequeue(0, p, b);
                    d.enqueue(0, b);
                    b.clear();
                }
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        t.start();
        Thread.sleep(rnd.nextInt(3));
        port.close();
        bursting.set(false);
        t.join();
        if (failure[0] != null) {
            throw new AssertionError("burst during close: " + failure[0], failure[0]);
        }
    }

    private void cleanUp() throws Exception {
        for (EthPort g : guests) {
            g.close();
        }
        for (VhostUserPort port : ports) {
            port.close();
        }
        for (PacketBatch b : batches) {
            b.close();
        }
        for (MbufPool p : pools) {
            if (p.isOpen() && p.inUse() != 0) {
                throw new AssertionError(p + " still has " + p.inUse() + " mbufs in use after every batch closed");
            }
            p.close();
        }
    }
}
