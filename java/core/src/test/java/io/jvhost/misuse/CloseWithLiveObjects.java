package io.jvhost.misuse;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.eal.EalException;
import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Child JVM for {@link CloseWithLiveObjectsTest}: closes EAL while a batch holds packets, a pool,
 * a vhost port with a live device and a virtio-user guest are open, then uses every one of them.
 * Each use must throw IllegalStateException (printed as "REFUSED <what>: <message>"); a JVM crash
 * or a call that works fails the test. {@code <scenario>}: "eal-close" or "third-start".
 */
public final class CloseWithLiveObjects {
    private CloseWithLiveObjects() {
    }

    interface Call {
        Object run() throws Exception;
    }

    static void expectRefused(String what, Call call) {
        try {
            Object r = call.run();
            System.out.println("WORKED " + what + ": " + r);
        } catch (IllegalStateException | EalException e) {
            System.out.println("REFUSED " + what + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (Exception e) {
            System.out.println("OTHER " + what + ": " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("jvhost-close");
        switch (args[0]) {
            case "eal-close" -> ealClose(dir);
            case "third-start" -> thirdStart();
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("SCENARIO DONE");
    }

    private static void ealClose(Path dir) throws Exception {
        Eal eal = Eal.start(EalConfig.builder().memoryMb(256).build());
        MbufPool pool = MbufPool.create(1024);
        PacketBatch batch = PacketBatch.allocate(32);
        if (!batch.allocate(pool, 10)) {
            throw new AssertionError("pool empty");
        }
        Packet p0 = batch.packet(0);
        p0.setData(new byte[64], 0, 64);
        VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
        EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
        VhostDevice device = port.awaitDevice(Duration.ofSeconds(10));
        System.out.println("BEFORE count=" + batch.count() + " length=" + p0.length() + " inUse=" + pool.inUse()
                + " device=" + device.isAlive());

        // an application cannot take jvhost's own resources out of EAL's care (they would outlive its memory)
        eal.disown(pool);
        eal.disown(port);
        eal.close();
        System.out.println("EAL CLOSED open=" + eal.isOpen() + " batch open=" + batch.isOpen() + " pool open="
                + pool.isOpen());

        expectRefused("packet length", p0::length);
        expectRefused("packet byte", () -> p0.getByte(0));
        expectRefused("packet copy", () -> {
            p0.copyTo(0, new byte[8], 0, 8);
            return null;
        });
        expectRefused("batch packet", () -> batch.packet(0));
        expectRefused("batch clear", () -> {
            batch.clear();
            return null;
        });
        expectRefused("batch allocate", () -> batch.allocate(pool, 1));
        expectRefused("pool inUse", pool::inUse);
        expectRefused("pool create", () -> MbufPool.create(64));
        expectRefused("device dequeue", () -> device.dequeue(0, pool, batch));
        expectRefused("device enqueue", () -> device.enqueue(0, batch));
        PacketBatch fresh = PacketBatch.allocate(8);
        expectRefused("device dequeue fresh batch", () -> device.dequeue(0, pool, fresh));
        // a closed port's bursts return 0, as a gone device's do: the documented way a serving loop
        // learns of a shutdown that another thread began
        System.out.println("ZERO guest rx " + guest.rxBurst(0, fresh) + " tx " + guest.txBurst(0, fresh));
        expectRefused("port open", () -> VhostUserPort.builder(dir.resolve("t")).open());
        System.out.println("BATCH " + batch + " POOL " + pool + " PACKET " + p0);
        batch.close();
        pool.close();
        guest.close();
        port.close();
    }

    private static void thirdStart() {
        try (Eal eal = Eal.start(EalConfig.builder().memoryMb(128).build())) {
            for (int i = 2; i <= 3; i++) {
                try {
                    Eal.start(EalConfig.builder().memoryMb(128).build());
                    System.out.println("START " + i + " WORKED");
                } catch (EalException e) {
                    System.out.println("START " + i + " REFUSED: " + e.getMessage().replace('\n', '|'));
                }
            }
            System.out.println("FIRST OPEN " + eal.isOpen());
        }
    }
}
