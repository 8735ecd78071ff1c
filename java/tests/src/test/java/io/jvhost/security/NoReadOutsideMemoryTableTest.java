package io.jvhost.security;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.Message;
import io.jvhost.protocol.MessageHeader;
import io.jvhost.testing.TmpfsPages;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * No byte outside the memory table is read, with the IOMMU off: a raw frontend (vhost-user bytes
 * over junixsocket, no protocol features) declares one region that covers only part of its
 * tmpfs file, so that DPDK's own mapping of the file holds bytes the frontend never declared:
 *
 * <pre>
 * file page 0        hole, undeclared (inside DPDK's mapping: DPDK maps from file offset 0)
 * file page 1        canary, undeclared (inside DPDK's mapping)
 * file pages 2..17   the region: mmap_offset 8192, size 65536 - 100; rings in its pages 0..5,
 *                    known bytes in 6..15, and the last 100 bytes of page 15 (past the declared
 *                    size, inside DPDK's page-rounded mapping) canary
 * file page 18       hole, beyond DPDK's mapping
 * file page 19       canary, beyond DPDK's mapping
 * </pre>
 *
 * Hostile transmit descriptors, chains and indirect tables start below the region, cross its
 * declared end, lie beyond it, or wrap; jvhost dequeues. The file must keep exactly its two holes
 * and no packet may carry the canary; a descriptor that ends exactly at the declared end comes
 * back byte-exact.
 */
class NoReadOutsideMemoryTableTest {
    static final int PAGE = 4096;
    static final int RING = 64;
    static final long GPA = 0x10_0000L;
    static final long UADDR = 0x7f00_1000_0000L;
    static final long OFFSET = 2L * PAGE;
    static final long SIZE = 16L * PAGE - 100;
    static final int FILE_PAGES = 20;
    static final int F_NEXT = 1;
    static final int F_INDIRECT = 4;
    /** Allocated pages of the file: all but the holes 0 and 18. */
    static final long TOUCHED = FILE_PAGES - 2;

    static PortUnderTest backend;

    @BeforeAll
    static void setUp() throws Exception {
        backend = PortUnderTest.open("jvhost-noread-off", 4096, false);
    }

    @AfterAll
    static void tearDown() throws Exception {
        backend.close();
    }


    /** Region page {@code p}'s GPA. */
    static long gpa(int p) {
        return GPA + (long) p * PAGE;
    }

    /** File offset of a GPA inside the region. */
    static int fileOffset(long gpa) {
        return (int) (gpa - GPA + OFFSET);
    }

    /** The known bytes at a file offset (region pages 6..15). */
    static byte known(long fileOff) {
        return (byte) (fileOff * 5 + (fileOff >> 10));
    }

    static final byte[] CANARY = NoReadOutsideMappingsTest.CANARY;

    /** The raw frontend with the file layout of the class comment, and the device it made. */
    static final class RawGuest implements AutoCloseable {
        final RandomAccessFile file;
        final MappedByteBuffer mem;
        final int fd;
        final AFUNIXSocket socket;
        final OutputStream out;
        final InputStream in;
        final VhostDevice device;
        int availIdx;

        RawGuest() throws Exception {
            Path f = Files.createTempFile(Path.of("/dev/shm"), "jvhost-noread-", ".mem");
            file = new RandomAccessFile(f.toFile(), "rw");
            Files.delete(f);
            file.setLength((long) FILE_PAGES * PAGE);
            mem = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, (long) FILE_PAGES * PAGE);
            mem.order(ByteOrder.LITTLE_ENDIAN);
            fd = TmpfsPages.tag(file.getChannel());
            canary(PAGE, PAGE);
            for (int p = 0; p < 6; p++) { // rings: zeroed pages, touched
                mem.put(fileOffset(gpa(p)), (byte) 0);
            }
            for (long o = fileOffset(gpa(6)); o < OFFSET + SIZE; o++) {
                mem.put((int) o, known(o));
            }
            canary((int) (OFFSET + SIZE), 100);
            canary(19 * PAGE, PAGE);
            assertThat(TmpfsPages.allocatedPages(fd), equalTo(TOUCHED));

            int eventsBefore = backend.events.size();
            VhostDevice before = backend.port.currentDevice();
            socket = AFUNIXSocket.newInstance();
            socket.connect(AFUNIXSocketAddress.of(backend.port.socket()));
            socket.setSoTimeout(2000);
            out = socket.getOutputStream();
            in = socket.getInputStream();
            send(FrontendRequest.GET_FEATURES.code(), new byte[0]);
            assertThat(in.readNBytes(20).length, equalTo(20));
            send(FrontendRequest.SET_FEATURES.code(), u64(1L << 32)); // VERSION_1 only: no protocol features
            send(FrontendRequest.SET_OWNER.code(), new byte[0]);
            ByteBuffer table = le(8 + 32).putInt(1).putInt(0).putLong(GPA).putLong(SIZE).putLong(UADDR).putLong(OFFSET);
            socket.setOutboundFileDescriptors(file.getFD());
            send(FrontendRequest.SET_MEM_TABLE.code(), table.array());
            for (int v = 0; v < 2; v++) {
                send(FrontendRequest.SET_VRING_NUM.code(), le(8).putInt(v).putInt(RING).array());
                send(FrontendRequest.SET_VRING_BASE.code(), le(8).putInt(v).putInt(0).array());
                send(FrontendRequest.SET_VRING_ADDR.code(), le(40).putInt(v).putInt(0).putLong(uaddr(gpa(3 * v)))
                        .putLong(uaddr(gpa(3 * v + 2))).putLong(uaddr(gpa(3 * v + 1))).putLong(0).array());
                send(FrontendRequest.SET_VRING_CALL.code(), u64(v | FrontendRequest.VRING_NOFD_MASK));
                send(FrontendRequest.SET_VRING_KICK.code(), u64(v | FrontendRequest.VRING_NOFD_MASK));
            }
            device = backend.awaitNewDevice(before, eventsBefore);
            // an ordinary frame first: this connection works, byte-exact
            writeDesc(0, gpa(6) + 10, 500, 0, 0);
            publish(0);
            List<byte[]> got = dequeueFor(200);
            assertThat(got.size(), equalTo(1));
            assertThat(got.get(0), equalTo(knownBytes(gpa(6) + 22, 488)));
        }

        static long uaddr(long gpa) {
            return gpa - GPA + UADDR;
        }

        void canary(int fileOff, int len) {
            for (int i = 0; i < len; i++) {
                mem.put(fileOff + i, CANARY[i % CANARY.length]);
            }
        }

        void send(int request, byte[] payload) throws IOException {
            out.write(new Message(new MessageHeader(request, MessageHeader.VERSION, payload.length), payload).toBytes());
            out.flush();
        }

        void writeDesc(int i, long addr, int len, int flags, int next) {
            int o = fileOffset(gpa(3)) + 16 * i;
            mem.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
        }

        void writeDescAt(long descGpa, long addr, int len, int flags, int next) {
            int o = fileOffset(descGpa);
            mem.putLong(o, addr).putInt(o + 8, len).putShort(o + 12, (short) flags).putShort(o + 14, (short) next);
        }

        void publish(int head) {
            int avail = fileOffset(gpa(4));
            mem.putShort(avail + 4 + 2 * (availIdx % RING), (short) head);
            availIdx++;
            mem.putShort(avail + 2, (short) availIdx);
        }

        List<byte[]> dequeueFor(long millis) {
            return backend.dequeueFor(device, millis);
        }

        @Override
        public void close() throws IOException {
            int from = backend.events.size();
            socket.close();
            file.close();
            assertThat("destroyDevice for the raw frontend",
                    Traffic.pollUntil(5_000, () -> backend.eventsSince(from).contains("destroy " + device.vid())), is(true));
        }
    }

    static byte[] knownBytes(long gpa, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = known(fileOffset(gpa) + i);
        }
        return b;
    }

    static byte[] u64(long v) {
        return le(8).putLong(v).array();
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"below-the-region", "starts-below-crosses-in", "crosses-the-declared-end",
        "beyond-the-region", "wraps-past-2^64", "4GiB-from-near-the-end", "chain-into-beyond",
        "indirect-entry-crosses-the-end", "indirect-table-crosses-the-end", "indirect-table-below"})
    void bytesOutsideTheMemoryTableAreNeverRead(String c) throws Exception {
        try (RawGuest g = new RawGuest()) {
            long end = GPA + SIZE;
            int head = 10;
            switch (c) {
                case "below-the-region" -> g.writeDesc(head, GPA - PAGE, 1000, 0, 0);
                case "starts-below-crosses-in" -> g.writeDesc(head, GPA - 200, 1000, 0, 0);
                case "crosses-the-declared-end" -> g.writeDesc(head, end - 1000, 1001, 0, 0);
                case "beyond-the-region" -> g.writeDesc(head, GPA + 17L * PAGE, 1000, 0, 0);
                case "wraps-past-2^64" -> g.writeDesc(head, -100L, 1000, 0, 0);
                case "4GiB-from-near-the-end" -> g.writeDesc(head, end - 10, -1, 0, 0);
                case "chain-into-beyond" -> {
                    g.writeDesc(head, gpa(7), 100, F_NEXT, head + 1);
                    g.writeDesc(head + 1, end, 100, 0, 0);
                }
                case "indirect-entry-crosses-the-end" -> {
                    g.writeDescAt(gpa(7), end - 50, 100, 0, 0);
                    g.writeDesc(head, gpa(7), 16, F_INDIRECT, 0);
                }
                case "indirect-table-crosses-the-end" -> {
                    // the table's last 32 declared bytes hold two chained entries; it goes on past the end
                    g.writeDescAt(end - 32, gpa(7), 100, F_NEXT, 1);
                    g.writeDescAt(end - 16, gpa(7) + 100, 100, F_NEXT, 2);
                    g.writeDesc(head, end - 32, 64, F_INDIRECT, 0);
                }
                case "indirect-table-below" -> g.writeDesc(head, GPA - PAGE, 64, F_INDIRECT, 0);
                default -> throw new IllegalArgumentException(c);
            }
            g.publish(head);
            List<byte[]> got = g.dequeueFor(200);
            System.out.println("NOREAD-OFF " + c + ": " + got.size() + " packets, canary in one: "
                    + got.stream().anyMatch(NoReadOutsideMappingsTest::hasCanary));
            assertThat("no packet carries canary bytes",
                    got.stream().filter(NoReadOutsideMappingsTest::hasCanary).count(), equalTo(0L));
            assertThat(got, empty());
            assertThat("the file's holes stay holes", TmpfsPages.allocatedPages(g.fd), equalTo(TOUCHED));
        }
    }

    /**
     * A descriptor that ends exactly at the declared end (canary right behind it, in the same
     * page of DPDK's mapping) comes back byte-exact; and the hole detector sees a read through the
     * frontend's own mapping of the undeclared page 0.
     */
    @Test
    void bytesUpToTheDeclaredEndComeExactlyAndTheDetectorWorks() throws Exception {
        try (RawGuest g = new RawGuest()) {
            long end = GPA + SIZE;
            g.writeDesc(10, end - 1000, 1000, 0, 0);
            g.publish(10);
            List<byte[]> got = g.dequeueFor(200);
            assertThat(got.size(), equalTo(1));
            assertThat(got.get(0), equalTo(knownBytes(end - 988, 988)));
            assertThat(TmpfsPages.allocatedPages(g.fd), equalTo(TOUCHED));
            assertThat(g.mem.get(0), equalTo((byte) 0));
            assertThat(TmpfsPages.allocatedPages(g.fd), equalTo(TOUCHED + 1));
        }
    }
}
