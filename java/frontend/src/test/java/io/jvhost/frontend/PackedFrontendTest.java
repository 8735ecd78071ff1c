package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.jvhost.protocol.VirtioFeature;
import io.jvhost.serve.PortServer;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;

/**
 * The Java frontend's packed virtqueues without an IOMMU, against jvhost's backend (DPDK 22.11's
 * librte_vhost) in the same JVM: a {@link VhostUserPort} served by a {@link PortServer} in
 * loopback (every frame dequeued from the guest's transmit ring of queue pair q is enqueued to its
 * receive ring of q). Small rings make both wrap counters flip several times.
 */
class PackedFrontendTest {
    @TempDir
    static Path dir;
    static LoopbackBackend backend;
    static VhostUserPort port;

    @BeforeAll
    static void startBackend() {
        backend = LoopbackBackend.start(dir.resolve("packed.sock"), b -> b.maxQueuePairs(2));
        port = backend.port();
    }

    @AfterAll
    static void stopBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    /**
     * Frames of 60 to 9000 bytes, more than the ring holds, both ways on two queue pairs: every one
     * comes back byte-exact and in order, the backend counts exactly as many, and GET_VRING_BASE
     * returns, in DPDK's packed format (index in bits 0-14, wrap counter in bit 15), the position
     * and wrap counter the frontend itself is at on each ring.
     */
    @ParameterizedTest(name = "ring={0} mergeable={1}")
    @CsvSource({"16,true", "16,false", "256,true", "64,false"})
    void packedRingsCarryEveryFrameByteExactAcrossWrapArounds(int ringSize, boolean mergeable) throws Exception {
        int n = 5 * ringSize + 7;
        try (VirtioNetFrontend dev = backend.open(VirtioNetFrontend.builder(port.socket()).queuePairs(2)
                .ringSize(ringSize).mergeableRxBuffers(mergeable).packed(true))) {
            VhostDevice d = port.currentDevice();
            assertThat("packed negotiated", VirtioFeature.RING_PACKED.isIn(d.features()), is(true));
            assertThat(VirtioFeature.RING_PACKED.isIn(dev.features()), is(true));
            assertThat(VirtioFeature.NET_MRG_RXBUF.isIn(d.features()), is(mergeable));
            LoopbackBackend.Counts[] before = backend.countsOf(2);
            for (int q = 0; q < 2; q++) {
                Traffic.Result r = Traffic.exchange(dev, q, n, Traffic.SIZES, Duration.ofSeconds(30));
                assertThat("sent on queue " + q, r.sent(), is(n));
                assertThat("received on queue " + q, r.received(), hasSize(n));
                for (int i = 0; i < n; i++) {
                    assertThat("frame " + i + " on queue " + q, r.received().get(i),
                            is(Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length])));
                }
                assertThat(dev.txInFlight(q), is(0));
            }
            for (int q = 0; q < 2; q++) {
                backend.assertCarried(q, before[q], n);
            }
            // the transmit rings went round more than 5 times: n buffers, one descriptor each;
            // stop serving first so that nothing moves while the rings are read back
            backend.stopServing();
            for (int q = 0; q < 2; q++) {
                int tx = 2 * q + 1;
                assertThat(dev.usedConsumed(tx), is(n));
                int rxUsed = dev.usedConsumed(2 * q);
                assertThat("receive descriptors used on queue " + q, rxUsed, mergeable ? greaterThan(n) : is(n));
                int txBase = dev.connection().getVringBase(tx);
                int rxBase = dev.connection().getVringBase(2 * q);
                assertThat("vring " + tx + " base 0x" + Integer.toHexString(txBase), txBase, is(packedBase(n, ringSize)));
                assertThat("vring " + 2 * q + " base 0x" + Integer.toHexString(rxBase), rxBase,
                        is(packedBase(rxUsed, ringSize)));
            }
        } finally {
            backend.serve();
        }
    }

    /**
     * Real kick and call descriptors on packed rings: the receive rings' driver event areas ask
     * for interrupts, DPDK signals the call descriptor after its enqueue, and the frontend sleeps
     * on it until each frame is there.
     */
    @Test
    void receiveWaitsOnTheCallDescriptor() throws Exception {
        try (VirtioNetFrontend dev = backend.open(VirtioNetFrontend.builder(port.socket()).queuePairs(2).packed(true)
                .notifications(true))) {
            byte[] buf = new byte[dev.maxFrameSize()];
            for (int q = 0; q < 2; q++) {
                for (int i = 0; i < 20; i++) {
                    byte[] f = Traffic.frame(q, i, Traffic.SIZES[i % Traffic.SIZES.length]);
                    assertThat(dev.send(q, f, 0, f.length), is(true));
                    assertThat(dev.awaitReceive(q, Duration.ofSeconds(5)), is(true));
                    int n = dev.receive(q, buf);
                    assertThat(java.util.Arrays.copyOf(buf, n), is(f));
                }
                assertThat("calls on vring " + 2 * q, dev.callsSeen(2 * q), greaterThan(0L));
            }
        }
    }

    /**
     * A device that writes used descriptors the driver never made available is caught, not
     * trusted: the test plays the device on rings nobody serves (a port without a server), writing
     * a used descriptor with AVAIL = USED = the wrap counter, as a device would.
     */
    @Test
    void bogusUsedDescriptorsAreRefused() throws Exception {
        try (VhostUserPort idle = VhostUserPort.builder(dir.resolve("idle.sock")).open();
                VirtioNetFrontend dev = LoopbackBackend.open(idle, VirtioNetFrontend.builder(idle.socket()).packed(true)
                        .mergeableRxBuffers(false))) {
            byte[] f = Traffic.frame(0, 1, 100);
            assertThat(dev.send(0, f, 0, f.length), is(true));
            assertThat(dev.txInFlight(0), is(1));
            // transmit: used id 77 at position 0, never handed out
            writeUsed(dev, dev.layout(1).descGpa(), 0, 77, 0);
            IllegalStateException tx = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> dev.txInFlight(0));
            assertThat(tx.getMessage(), org.hamcrest.Matchers.containsString("used id 77"));
            // receive: a used length larger than the buffer
            writeUsed(dev, dev.layout(0).descGpa(), 0, 0, 1 << 20);
            IllegalStateException rx = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> dev.receive(0, new byte[9216]));
            assertThat(rx.getMessage(), org.hamcrest.Matchers.containsString("used len"));
        }
    }

    /** Writes a used descriptor (id, len, flags AVAIL|USED for wrap counter 1) at ring position {@code pos}. */
    private static void writeUsed(VirtioNetFrontend dev, long ringGpa, int pos, int id, int len) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(len).putShort((short) id).putShort((short) (PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED));
        dev.memory().write(ringGpa + 16L * pos + 8, b.array(), 0, 8);
    }

    /** Where a ring is after {@code count} single-descriptor buffers: index | wrap counter << 15 (starts at 1). */
    static int packedBase(int count, int ringSize) {
        int wrap = 1 ^ ((count / ringSize) & 1);
        return (count % ringSize) | (wrap << 15);
    }
}
