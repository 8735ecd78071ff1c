package io.jvhost.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.jvhost.ethdev.EthPort;
import io.jvhost.loop.IdleStrategy;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve's forward mode on the event loop, against two DPDK virtio-user guests: A's frames reach B, in order. */
class PortServerForwardTest {
    @TempDir
    Path dir;

    @Test
    void whatOneGuestSendsTheOtherReceivesWithExactCounters() throws Exception {
        SharedEal.get();
        int n = 500;
        try (MbufPool pool = MbufPool.create(8191);
                MbufPool guestPool = MbufPool.create(4095);
                VhostUserPort a = VhostUserPort.builder(dir.resolve("a")).open();
                VhostUserPort b = VhostUserPort.builder(dir.resolve("b")).open();
                EthPort guestA = EthPort.virtioUser(a.socket(), 1, true, guestPool);
                EthPort guestB = EthPort.virtioUser(b.socket(), 1, true, guestPool);
                PacketBatch tx = PacketBatch.allocate(32);
                PacketBatch rx = PacketBatch.allocate(64)) {
            a.awaitDevice(Duration.ofSeconds(10));
            b.awaitDevice(Duration.ofSeconds(10));
            PortServer server = PortServer.start(List.of(a, b), Mode.FORWARD, pool, 64, 0, null, IdleStrategy.adaptive());
            try {
                assertThat(server.idleStrategy(), equalTo(IdleStrategy.adaptive()));
                int[] sent = {0};
                int[] got = {0};
                assertThat(Traffic.pollUntil(30_000, () -> {
                    if (tx.isEmpty() && sent[0] < n) {
                        int k = Math.min(32, n - sent[0]);
                        int[] sizes = new int[k];
                        java.util.Arrays.fill(sizes, 100 + sent[0] % 900);
                        Traffic.fill(guestPool, tx, sent[0], sizes);
                        sent[0] += k;
                    }
                    guestA.txBurst(0, tx);
                    guestB.rxBurst(0, rx);
                    for (int i = 0; i < rx.count(); i++) {
                        int seq = got[0]++;
                        assertThat(Traffic.mismatch(rx.packet(i), seq, 100 + (seq - seq % 32) % 900), nullValue());
                    }
                    rx.clear();
                    return got[0] == n;
                }), equalTo(true));
            } finally {
                server.close();
            }
            assertThat("A received", server.counters(0, 0).rxPackets(), equalTo((long) n));
            assertThat("sent to B (counted on B's counters)", server.counters(1, 0).txPackets(), equalTo((long) n));
            assertThat(server.counters(0, 0).txPackets(), equalTo(0L));
            assertThat(server.counters(0, 0).dropped(), equalTo(0L));
            assertThat(server.counters(1, 0).rxPackets(), equalTo(0L));
            assertThat("every backend mbuf back", pool.inUse(), equalTo(0));
        }
    }
}
