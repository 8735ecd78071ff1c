package io.jvhost.mbuf;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.testing.SharedEal;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** {@link PacketBatch#allocate(MbufPool, int, ByteBuffer, int)}: a generator's burst in one call. */
class PacketBatchTemplateTest {
    @Test
    void everyPacketStartsWithTheTemplateAndHasTheLength() {
        SharedEal.get();
        byte[] head = new byte[64];
        for (int i = 0; i < head.length; i++) {
            head[i] = (byte) (i * 7 + 1);
        }
        ByteBuffer t = ByteBuffer.allocateDirect(80).position(16);
        t.put(head).flip().position(16); // remaining: exactly the 64 bytes of head
        try (MbufPool pool = MbufPool.create(1023); PacketBatch b = PacketBatch.allocate(32)) {
            assertThat(b.allocate(pool, 3), equalTo(true));
            assertThat(b.allocate(pool, 29, t, 1000), equalTo(true));
            assertThat(b.count(), equalTo(32));
            assertThat("the template's position does not move", t.position(), equalTo(16));
            for (int i = 3; i < 32; i++) {
                Packet p = b.packet(i);
                assertThat(p.length(), equalTo(1000));
                assertThat(p.segments(), equalTo(1));
                assertThat(Arrays.copyOf(p.toByteArray(), 64), equalTo(head));
            }
            assertThat("the packets before are untouched", b.packet(0).length(), equalTo(0));
            b.clear();
            assertThat(pool.inUse(), equalTo(0));
        }
    }

    @Test
    void allOrNothingWhenThePoolRunsDry() {
        SharedEal.get();
        ByteBuffer t = ByteBuffer.allocateDirect(14);
        try (MbufPool pool = MbufPool.create(null, 40, 0, MbufPool.DEFAULT_DATA_ROOM);
                PacketBatch b = PacketBatch.allocate(64)) {
            assertThat(b.allocate(pool, 64, t, 60), equalTo(false));
            assertThat(b.count(), equalTo(0));
            assertThat(pool.inUse(), equalTo(0));
        }
    }

    @Test
    void badTemplatesAndLengthsAreRefused() {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(1023); PacketBatch b = PacketBatch.allocate(8)) {
            ByteBuffer direct = ByteBuffer.allocateDirect(64);
            assertThrows(IllegalArgumentException.class, () -> b.allocate(pool, 1, ByteBuffer.allocate(64), 64));
            assertThrows(IllegalArgumentException.class, () -> b.allocate(pool, 1, direct, 63));
            assertThrows(IllegalArgumentException.class, () -> b.allocate(pool, 1, direct, 2049));
            assertThrows(IllegalArgumentException.class, () -> b.allocate(pool, 9, direct, 64));
            assertThrows(IllegalArgumentException.class, () -> b.allocate(pool, -1, direct, 64));
            assertThat(b.allocate(pool, 1, direct, 2048), equalTo(true));
            b.close();
            assertThrows(IllegalStateException.class, () -> b.allocate(pool, 1, direct, 64));
            assertThat(pool.inUse(), equalTo(0));
        }
    }
}
