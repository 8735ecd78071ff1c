package io.jvhost.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve's macswap mode, against DPDK's virtio-user: every frame back with its addresses swapped. */
class PortServerMacSwapTest {
    @TempDir
    Path dir;

    @Test
    void framesComeBackWithDestinationAndSourceSwappedAndTheRestUntouched() throws Exception {
        SharedEal.get();
        int[] sizes = {60, 61, 1500, 4000}; // 4000: a chained frame in the backend's mbufs
        try (MbufPool pool = MbufPool.create(4095);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                EthPort guest = EthPort.virtioUser(port.socket(), 1, true, pool);
                PortServer server = PortServer.start(List.of(port), Mode.MACSWAP, pool, 64, 0);
                PacketBatch tx = PacketBatch.allocate(sizes.length);
                PacketBatch rx = PacketBatch.allocate(32)) {
            port.awaitDevice(Duration.ofSeconds(10));
            Traffic.fill(pool, tx, 100, sizes);
            byte[][] sent = new byte[sizes.length][];
            for (int i = 0; i < sizes.length; i++) {
                sent[i] = tx.packet(i).toByteArray();
            }
            assertThat(Traffic.pollUntil(5_000, () -> {
                guest.txBurst(0, tx);
                return tx.isEmpty();
            }), equalTo(true));
            assertThat(Traffic.pollUntil(5_000, () -> {
                guest.rxBurst(0, rx);
                return rx.count() >= sizes.length;
            }), equalTo(true));
            assertThat(rx.count(), equalTo(sizes.length));
            for (int i = 0; i < sizes.length; i++) {
                byte[] want = sent[i].clone();
                System.arraycopy(sent[i], 6, want, 0, 6);
                System.arraycopy(sent[i], 0, want, 6, 6);
                assertThat("frame " + i + " of " + sizes[i] + " bytes", Arrays.equals(rx.packet(i).toByteArray(), want),
                        equalTo(true));
            }
            assertThat(server.counters(0, 0).rxPackets(), equalTo((long) sizes.length));
            assertThat(server.counters(0, 0).txPackets(), equalTo((long) sizes.length));
            rx.clear();
        }
    }
}
