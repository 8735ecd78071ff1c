package io.jvhost.security;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

import io.jvhost.frontend.GuestMemory;
import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.VirtioNetFrontend;
import io.jvhost.frontend.VringLayout;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A frontend that sets up a proper device, then corrupts its transmit vring in guest memory:
 * descriptor chains that loop, point outside guest memory, run past the ring or claim 4 GiB, and
 * an available index that jumps. jvhost dequeues from it: every call returns, at most the
 * batch's room comes back, the JVM survives, and the same frontend's receive side and the next
 * frontend keep working.
 */
class HostileRingsTest {
    private static final int NEXT = 1;
    static PortUnderTest backend;

    @BeforeAll
    static void setUp() throws Exception {
        backend = PortUnderTest.open("jvhost-rings", 8192, false);
    }

    @AfterAll
    static void tearDown() throws Exception {
        backend.close();
    }

    private static void writeDesc(GuestMemory m, VringLayout l, int i, long addr, int len, int flags, int next) {
        byte[] d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(addr).putInt(len).putShort((short) flags)
                .putShort((short) next).array();
        m.write(l.descGpa() + 16L * i, d, 0, 16);
    }

    private static int availIdx(GuestMemory m, VringLayout l) {
        byte[] b = new byte[2];
        m.read(l.availGpa() + 2, b, 0, 2);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8;
    }

    /** Puts descriptor head at the next available slot and moves the available index by step. */
    private static void publish(GuestMemory m, VringLayout l, int head, int step) {
        int idx = availIdx(m, l);
        byte[] e = {(byte) head, (byte) (head >>> 8)};
        m.write(l.availGpa() + 4 + 2L * (idx % l.size()), e, 0, 2);
        int next = (idx + step) & 0xffff;
        m.write(l.availGpa() + 2, new byte[] {(byte) next, (byte) (next >>> 8)}, 0, 2);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"self-loop", "chain-around-the-ring", "next-out-of-range", "outside-memory",
        "length-4GiB", "avail-index-jumps", "used-index-jumps"})
    void corruptTransmitRing(String corruption) throws Exception {
        VhostDevice before = backend.port.currentDevice();
        try (VirtioNetFrontend front = VirtioNetFrontend.builder(backend.port.socket()).queuePairs(1).iommu(IommuMode.OFF)
                .open(); PacketBatch batch = PacketBatch.allocate(64)) {
            assertThat(Traffic.pollUntil(10_000, () -> backend.port.currentDevice() != null && backend.port.currentDevice() != before),
                    equalTo(true));
            VhostDevice d = backend.port.currentDevice();
            GuestMemory m = front.memory();
            VringLayout tx = front.layout(1);
            long buf = tx.bufferGpa();
            int size = tx.size();
            switch (corruption) {
                case "self-loop" -> {
                    writeDesc(m, tx, 0, buf, 64, NEXT, 0);
                    publish(m, tx, 0, 1);
                }
                case "chain-around-the-ring" -> {
                    for (int i = 0; i < size; i++) {
                        writeDesc(m, tx, i, buf, 16, NEXT, (i + 1) % size);
                    }
                    publish(m, tx, 0, 1);
                }
                case "next-out-of-range" -> {
                    writeDesc(m, tx, 0, buf, 64, NEXT, size + 7);
                    publish(m, tx, 0, 1);
                }
                case "outside-memory" -> {
                    writeDesc(m, tx, 0, 0x7fff_ffff_0000L, 1500, 0, 0);
                    publish(m, tx, 0, 1);
                }
                case "length-4GiB" -> {
                    writeDesc(m, tx, 0, buf, -1, 0, 0);
                    publish(m, tx, 0, 1);
                }
                case "avail-index-jumps" -> {
                    writeDesc(m, tx, 0, buf, 64, 0, 0);
                    publish(m, tx, 0, 40_000);
                }
                case "used-index-jumps" -> {
                    // the used ring is the backend's to write; a frontend scribbling on it
                    m.write(tx.usedGpa() + 2, new byte[] {(byte) 0x50, (byte) 0xc3}, 0, 2);
                    writeDesc(m, tx, 0, buf, 64, 0, 0);
                    publish(m, tx, 0, 1);
                }
                default -> throw new IllegalArgumentException(corruption);
            }
            // the backend reads the corrupted ring: every call returns, never more than the room
            long dequeued = 0;
            for (int i = 0; i < 200; i++) {
                int n = d.dequeue(0, backend.pool, batch);
                dequeued += n;
                assertThat(n, lessThanOrEqualTo(64));
                for (int k = 0; k < batch.count(); k++) {
                    assertThat(batch.packet(k).length(), lessThanOrEqualTo(65_535));
                }
                batch.clear();
            }
            System.out.println("HOSTILE RING " + corruption + ": " + dequeued + " packets dequeued, used index "
                    + d.vring(1).lastUsedIndex() + ", avail index " + d.vring(1).lastAvailIndex());
            // the receive side of the same device still works
            try (PacketBatch out = PacketBatch.allocate(4)) {
                Traffic.fill(backend.pool, out, 0, 64, 1500);
                assertThat(Traffic.pollUntil(5_000, () -> {
                    d.enqueue(0, out);
                    return out.isEmpty();
                }), equalTo(true));
                byte[] got = new byte[front.maxFrameSize()];
                int[] lens = {0, 0};
                assertThat(Traffic.pollUntil(5_000, () -> {
                    int n = front.receive(0, got);
                    if (n >= 0) {
                        lens[lens[0] == 0 ? 0 : 1] = n;
                    }
                    return lens[1] != 0;
                }), equalTo(true));
                assertThat(lens[0], equalTo(64));
                assertThat(lens[1], equalTo(1500));
            }
        }
        // and the next frontend is served as usual
        VhostDevice old = backend.port.currentDevice();
        try (VirtioNetFrontend next = VirtioNetFrontend.builder(backend.port.socket()).queuePairs(1).iommu(IommuMode.OFF).open();
                PacketBatch batch = PacketBatch.allocate(8)) {
            assertThat(Traffic.pollUntil(10_000, () -> backend.port.currentDevice() != null && backend.port.currentDevice() != old
                    && backend.port.currentDevice().isAlive()), equalTo(true));
            byte[] f = Traffic.content(9, 128);
            assertThat(next.send(0, f, 0, f.length), equalTo(true));
            VhostDevice d = backend.port.currentDevice();
            assertThat(Traffic.pollUntil(5_000, () -> d.dequeue(0, backend.pool, batch) > 0 || batch.count() > 0), equalTo(true));
            assertThat(Traffic.mismatch(batch.packet(0), 9, 128), equalTo(null));
            batch.clear();
        }
    }
}
