package io.jvhost.mbuf;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.testing.SharedEal;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Typed reads and writes in network byte order, bulk copies and DPDK's header operations on real
 * mbufs, single- and multi-segment, checked against java.nio's big-endian view of the same bytes.
 */
class PacketAccessTest {
    static MbufPool pool;

    @BeforeAll
    static void setUp() {
        SharedEal.get();
        pool = MbufPool.create(null, 1024, 0, MbufPool.DEFAULT_DATA_ROOM);
    }

    @AfterAll
    static void tearDown() {
        pool.close();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Every offset, every width, in one segment (64 B) and across three (5000 B). */
    @Test
    void typedReadsAgreeWithNioBigEndianEverywhere() {
        for (int size : new int[] {64, 1500, 5000}) {
            byte[] data = random(size, size);
            ByteBuffer expected = ByteBuffer.wrap(data); // big-endian
            try (PacketBatch b = PacketBatch.allocate(1)) {
                assertThat(b.allocate(pool, 1), equalTo(true));
                Packet p = b.packet(0);
                p.setData(data, 0, size);
                assertThat(p.segments(), equalTo(size > 2048 ? 3 : 1));
                for (int off = 0; off < size; off++) {
                    assertThat(p.getByte(off), equalTo(data[off]));
                    if (off + 2 <= size) {
                        assertThat("short at " + off, p.getShort(off), equalTo(expected.getShort(off)));
                    }
                    if (off + 4 <= size) {
                        assertThat("int at " + off, p.getInt(off), equalTo(expected.getInt(off)));
                    }
                    if (off + 8 <= size) {
                        assertThat("long at " + off, p.getLong(off), equalTo(expected.getLong(off)));
                    }
                }
                assertThrows(IndexOutOfBoundsException.class, () -> p.getShort(size - 1));
                assertThrows(IndexOutOfBoundsException.class, () -> p.getInt(size - 3));
                assertThrows(IndexOutOfBoundsException.class, () -> p.getLong(-1));
                assertThrows(IndexOutOfBoundsException.class, () -> p.putLong(size - 7, 1));
            }
        }
    }

    /**
     * A view remembers its mbuf's addresses and lengths between changes of its batch: every change
     * of what the slot holds, or of the packet's lengths and offsets, must show in the next read.
     * The hard case is the mempool's cache handing the same mbuf back to the same slot with other
     * lengths.
     */
    @Test
    void aViewFollowsEveryChangeOfItsSlot() {
        byte[] data = random(200, 11);
        ByteBuffer be = ByteBuffer.wrap(data);
        try (PacketBatch b = PacketBatch.allocate(2)) {
            assertThat(b.allocate(pool, 2), equalTo(true));
            Packet p = b.packet(0);
            p.setData(data, 0, 100);
            b.packet(1).setData(data, 100, 100);
            assertThat(p.length(), equalTo(100));
            assertThat(p.getInt(96), equalTo(be.getInt(96)));
            long address = p.dataAddress();

            p.prepend(14);
            assertThat(p.length(), equalTo(114));
            assertThat(p.dataAddress(), equalTo(address - 14));
            assertThat(p.getInt(14 + 96), equalTo(be.getInt(96)));
            p.adj(14);
            assertThat(p.length(), equalTo(100));
            assertThat(p.getInt(0), equalTo(be.getInt(0)));
            p.trim(10);
            assertThat(p.length(), equalTo(90));
            assertThrows(IndexOutOfBoundsException.class, () -> p.getInt(88));
            p.append(10);
            assertThat(p.getInt(96), equalTo(be.getInt(96)));
            p.setLength(60);
            assertThrows(IndexOutOfBoundsException.class, () -> p.getByte(60));
            p.setData(data, 0, 200);
            assertThat(p.getLong(192), equalTo(be.getLong(192)));

            // a drop moves packet 1 into slot 0
            b.drop(0);
            assertThat(p.length(), equalTo(100));
            assertThat(p.getInt(0), equalTo(be.getInt(100)));

            b.clear();
            assertThat(assertThrows(IllegalStateException.class, p::length).getMessage(), containsString("no packet"));
        }
        // freed and allocated again into the same slot: from a pool of one, the same mbuf, reset
        try (MbufPool one = MbufPool.create(null, 1, 0, MbufPool.DEFAULT_DATA_ROOM);
                PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(one, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(data, 0, 100);
            p.adj(20);
            long address = p.dataAddress();
            assertThat(p.length(), equalTo(80));
            b.clear();
            assertThat(b.allocate(one, 1), equalTo(true));
            assertThat(p.length(), equalTo(0));
            assertThat(p.dataAddress(), equalTo(address - 20)); // data offset back at the headroom
            assertThrows(IndexOutOfBoundsException.class, () -> p.getByte(0));
        }
    }

    @Test
    void typedWritesLandBigEndianIncludingAcrossSegments() {
        int size = 5000;
        byte[] data = random(size, 7);
        ByteBuffer expected = ByteBuffer.wrap(data.clone());
        try (PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(data, 0, size);
            int firstSegment = 2048; // data room 2176 less 128 of headroom
            int[] offsets = {0, 14, firstSegment - 1, firstSegment - 3, firstSegment - 7, 2 * firstSegment - 5, size - 8};
            long v = 0x0102030405060708L;
            for (int off : offsets) {
                p.putLong(off, v);
                expected.putLong(off, v);
                p.putInt(off + 1, (int) ~v);
                expected.putInt(off + 1, (int) ~v);
                p.putShort(off + 2, (short) 0xbeef);
                expected.putShort(off + 2, (short) 0xbeef);
                p.putByte(off + 3, (byte) 0x7f);
                expected.put(off + 3, (byte) 0x7f);
                v = Long.rotateLeft(v, 13);
            }
            assertThat(Arrays.equals(p.toByteArray(), expected.array()), equalTo(true));
        }
    }

    @Test
    void bulkCopiesWithHeapAndDirectBuffers() {
        byte[] data = random(5000, 11);
        try (PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(data, 0, data.length);
            for (ByteBuffer dst : new ByteBuffer[] {ByteBuffer.allocate(3000), ByteBuffer.allocateDirect(3000)}) {
                dst.position(100);
                p.copyTo(1000, dst.slice(100, 2900));
                dst.position(100).limit(3000);
                byte[] got = new byte[2900];
                dst.get(got);
                assertThat(Arrays.equals(got, Arrays.copyOfRange(data, 1000, 3900)), equalTo(true));
            }
            ByteBuffer direct = ByteBuffer.allocateDirect(2500).put(random(2500, 12)).flip();
            p.copyFrom(1500, direct);
            assertThat(direct.remaining(), equalTo(0));
            byte[] patch = random(700, 13);
            p.copyFrom(4300, patch, 0, 700);
            byte[] want = data.clone();
            direct.flip();
            direct.get(want, 1500, 2500);
            System.arraycopy(patch, 0, want, 4300, 700);
            assertThat(Arrays.equals(p.toByteArray(), want), equalTo(true));
            assertThrows(IndexOutOfBoundsException.class, () -> p.copyFrom(4500, patch, 0, 700));
            assertThrows(java.nio.ReadOnlyBufferException.class,
                    () -> p.copyTo(0, ByteBuffer.allocate(4).asReadOnlyBuffer()));
            assertThat(p.length(), equalTo(5000));
        }
    }

    /** Push a VLAN-sized header, pop it, trim and append, as DPDK's functions do. */
    @Test
    void prependAdjTrimAppend() {
        byte[] frame = random(60, 21);
        try (PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(frame, 0, frame.length);
            int headroom = p.headroom();
            assertThat(headroom, equalTo(128));
            assertThat(p.tailroom(), equalTo(2048 - 60));
            p.prepend(4);
            p.putInt(0, 0x8100_0064);
            assertThat(p.length(), equalTo(64));
            assertThat(p.headroom(), equalTo(headroom - 4));
            assertThat(p.getInt(0), equalTo(0x8100_0064));
            assertThat(p.getByte(4), equalTo(frame[0]));
            p.adj(4);
            assertThat(Arrays.equals(p.toByteArray(), frame), equalTo(true));
            p.trim(10);
            assertThat(Arrays.equals(p.toByteArray(), Arrays.copyOf(frame, 50)), equalTo(true));
            p.append(10);
            assertThat(p.length(), equalTo(60));
            assertThat(Arrays.equals(Arrays.copyOf(p.toByteArray(), 50), Arrays.copyOf(frame, 50)), equalTo(true));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> p.prepend(headroom + 1));
            assertThat(e.getMessage(), containsString("headroom is 128"));
            assertThrows(IndexOutOfBoundsException.class, () -> p.adj(61));
            assertThrows(IndexOutOfBoundsException.class, () -> p.trim(-1));
            assertThrows(IndexOutOfBoundsException.class, () -> p.append(p.tailroom() + 1));
            assertThat(p.length(), equalTo(60));
        }
        // multi-segment: adj works on the first segment, trim and append on the last
        byte[] big = random(5000, 22);
        try (PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(big, 0, big.length);
            p.adj(100);
            p.trim(4);
            assertThat(Arrays.equals(p.toByteArray(), Arrays.copyOfRange(big, 100, 4996)), equalTo(true));
            assertThrows(IndexOutOfBoundsException.class, () -> p.trim(5000 - 2 * 2048 + 1));
            assertThat(p.tailroom(), greaterThan(0));
        }
    }

    @Test
    void typedAccessAllocatesNothing() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (PacketBatch b = PacketBatch.allocate(1)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(random(1500, 31), 0, 1500);
            long sum = 0;
            long[] allocated = new long[8];
            for (int round = 0; round < allocated.length; round++) { // the first half warms up (JIT)
                long start = mx.getThreadAllocatedBytes(Thread.currentThread().getId());
                for (int i = 0; i < 100_000; i++) {
                    int off = i % 1400;
                    long mac = p.getLong(off) >>> 16;
                    p.putShort(off + 8, (short) mac);
                    sum += p.getInt(off + 4) + p.getShort(off);
                }
                allocated[round] = mx.getThreadAllocatedBytes(Thread.currentThread().getId()) - start;
            }
            // One allocation per access would be at least 6.4 MB a round; CI once saw 88 bytes in a
            // round while the JIT was still at work, hence: every late round under 1 KiB, one at 0.
            long[] late = Arrays.copyOfRange(allocated, 4, 8);
            String rounds = "bytes allocated per round of 400,000 typed accesses " + Arrays.toString(allocated)
                    + " (" + sum + ")";
            assertThat(rounds, Arrays.stream(late).max().getAsLong(), lessThanOrEqualTo(1024L));
            assertThat(rounds, Arrays.stream(late).min().getAsLong(), lessThanOrEqualTo(0L));
        }
    }

    /**
     * Bulk copies to and from byte[], heap and direct buffers, and a batch filled from a direct
     * template, allocate nothing either (on JDK 22+ the direct buffer's address comes from FFM).
     */
    @Test
    void bulkCopiesAndTemplateFillsAllocateNothing() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        ByteBuffer direct = ByteBuffer.allocateDirect(1500);
        ByteBuffer heap = ByteBuffer.allocate(1500);
        byte[] array = new byte[1500];
        ByteBuffer template = ByteBuffer.allocateDirect(64).put(random(64, 5)).flip();
        try (PacketBatch b = PacketBatch.allocate(32); PacketBatch t = PacketBatch.allocate(32)) {
            assertThat(b.allocate(pool, 1), equalTo(true));
            Packet p = b.packet(0);
            p.setData(random(1500, 32), 0, 1500);
            long sum = 0;
            long[] allocated = new long[8];
            for (int round = 0; round < allocated.length; round++) { // the first half warms up (JIT)
                long start = mx.getThreadAllocatedBytes(Thread.currentThread().getId());
                for (int i = 0; i < 20_000; i++) {
                    int off = i % 700;
                    p.copyTo(off, direct.clear().limit(800));
                    p.copyFrom(off, direct.flip());
                    p.copyTo(off, heap.clear().limit(800));
                    p.copyFrom(off, heap.flip());
                    p.copyTo(off, array, 0, 800);
                    p.copyFrom(off, array, 0, 800);
                    sum += direct.get(i % 800) + heap.get(i % 800) + array[i % 800];
                    if (i % 8 == 0) {
                        t.allocate(pool, 32, template, 128);
                        sum += t.packet(31).getByte(63);
                        t.clear();
                    }
                }
                allocated[round] = mx.getThreadAllocatedBytes(Thread.currentThread().getId()) - start;
            }
            long[] late = Arrays.copyOfRange(allocated, 4, 8);
            String rounds = "bytes allocated per round of 120,000 copies and 2,500 template fills "
                    + Arrays.toString(allocated) + " (" + sum + ")";
            assertThat(rounds, Arrays.stream(late).max().getAsLong(), lessThanOrEqualTo(1024L));
            assertThat(rounds, Arrays.stream(late).min().getAsLong(), lessThanOrEqualTo(0L));
        }
    }
}
