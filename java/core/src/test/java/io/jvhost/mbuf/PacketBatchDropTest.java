package io.jvhost.mbuf;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PacketBatch.drop: a filter's way to free one packet and keep the others in order. */
class PacketBatchDropTest {
    @Test
    void droppingFreesThatPacketAndKeepsTheOthersInOrder() {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(1023); PacketBatch batch = PacketBatch.allocate(32)) {
            int[] sizes = new int[32];
            for (int i = 0; i < sizes.length; i++) {
                sizes[i] = 60 + i;
            }
            Traffic.fill(pool, batch, 0, sizes);
            int inUse = pool.inUse();
            List<Integer> kept = new ArrayList<>();
            for (int i = batch.count() - 1; i >= 0; i--) { // from the end, as the Javadoc says
                if (i % 3 == 0) {
                    batch.drop(i);
                } else {
                    kept.add(0, i);
                }
            }
            assertThat(batch.count(), equalTo(kept.size()));
            assertThat("dropped packets went back to the pool", pool.inUse(), equalTo(inUse - (32 - kept.size())));
            for (int i = 0; i < kept.size(); i++) {
                int seq = kept.get(i);
                assertThat(Traffic.mismatch(batch.packet(i), seq, sizes[seq]), equalTo(null));
            }
            assertThrows(IndexOutOfBoundsException.class, () -> batch.drop(batch.count()));
            assertThrows(IndexOutOfBoundsException.class, () -> batch.drop(-1));
            batch.drop(batch.count() - 1); // the last one: nothing to move
            assertThat(batch.count(), equalTo(kept.size() - 1));
            batch.clear();
            assertThat(pool.inUse(), equalTo(0));
            batch.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> batch.drop(0));
            assertThat(closed.getMessage().contains("closed"), equalTo(true));
        }
    }
}
