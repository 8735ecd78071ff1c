package io.jvhost.security;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.hasItem;

import io.jvhost.ethdev.EthPort;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.MessageHeader;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * A hostile frontend: raw vhost-user bytes, malformed or adversarial, sent to a jvhost port in this
 * JVM. For each case: the backend (and so this JVM) survives, no device is started for the bad
 * connection, and afterwards a well-behaved frontend (DPDK's virtio-user) connects to the same port
 * and exchanges frames byte-exact.
 */
class HostileFrontendTest {
    static PortUnderTest backend;

    @BeforeAll
    static void setUp() throws Exception {
        backend = PortUnderTest.open("jvhost-hostile", 8192, true);
    }

    @AfterAll
    static void tearDown() throws Exception {
        backend.close();
    }

    /** One raw connection. */
    private static final class Raw implements AutoCloseable {
        final AFUNIXSocket socket;
        final OutputStream out;
        final InputStream in;

        Raw() throws IOException {
            socket = AFUNIXSocket.newInstance();
            socket.connect(AFUNIXSocketAddress.of(backend.port.socket()));
            socket.setSoTimeout(2000);
            out = socket.getOutputStream();
            in = socket.getInputStream();
        }

        /** Set when the backend hung up on us: a refusal, which is a fine outcome. */
        boolean hungUp;

        void send(int request, int flags, int size, byte[] payload, FileDescriptor... fds) throws IOException {
            if (hungUp) {
                return;
            }
            ByteBuffer b = ByteBuffer.allocate(MessageHeader.BYTES + payload.length);
            new MessageHeader(request, flags, size).encode(b).put(payload);
            if (fds.length > 0) {
                socket.setOutboundFileDescriptors(fds);
            }
            try {
                out.write(b.array());
                out.flush();
            } catch (java.net.SocketException e) {
                hungUp = true;
                System.out.println("HOSTILE: the backend hung up before request " + request);
            }
        }

        void send(int request, byte[] payload, FileDescriptor... fds) throws IOException {
            send(request, MessageHeader.VERSION, payload.length, payload, fds);
        }

        /** Reads a reply if one comes within the timeout; -1 when the backend closed, 0 for none. */
        int readReply() throws IOException {
            byte[] h = new byte[12];
            try {
                int n = in.read(h);
                return n < 0 ? -1 : n;
            } catch (java.net.SocketTimeoutException e) {
                return 0;
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] memTable(long gpa, long size, long userAddr, long offset, int regions) {
        ByteBuffer b = ByteBuffer.allocate(8 + 32 * Math.max(regions, 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(regions).putInt(0);
        for (int i = 0; i < Math.max(regions, 1); i++) {
            b.putLong(gpa + i * size).putLong(size).putLong(userAddr + i * size).putLong(offset);
        }
        return b.array();
    }

    private static byte[] iotlb(long iova, long size, long uaddr, int perm, int type) {
        return new VhostIotlbMsg(iova, size, uaddr, perm, type).toBytes();
    }

    /** The usual opening: features with the IOMMU, owner, protocol features. */
    private static void handshake(Raw r) throws IOException {
        r.send(FrontendRequest.GET_FEATURES.code(), new byte[0]);
        if (r.readReply() > 0) {
            r.in.readNBytes(8);
        }
        r.send(FrontendRequest.SET_FEATURES.code(), u64((1L << 32) | (1L << 33) | (1L << 30)));
        r.send(FrontendRequest.SET_OWNER.code(), new byte[0]);
    }

    private static void attack(String name) throws Exception {
        try (Raw r = new Raw()) {
            switch (name) {
                case "truncated-header" -> r.out.write(new byte[] {1, 0, 0, 0, 1, 0});
                case "oversized-size" -> r.send(FrontendRequest.SET_FEATURES.code(), MessageHeader.VERSION, 0x7fff_ffff, u64(0));
                case "unknown-request" -> r.send(999, new byte[16]);
                case "short-payload" -> r.send(FrontendRequest.SET_FEATURES.code(), new byte[4]);
                case "fd-where-none-expected" -> {
                    try (RandomAccessFile f = new RandomAccessFile(backend.dir.resolve("junk").toFile(), "rw")) {
                        r.send(FrontendRequest.SET_OWNER.code(), new byte[0], f.getFD());
                    }
                }
                case "mem-table-without-fds" -> {
                    handshake(r);
                    r.send(FrontendRequest.SET_MEM_TABLE.code(), memTable(0, 1 << 20, 0x7000_0000_0000L, 0, 8));
                }
                case "mem-table-huge-region" -> {
                    handshake(r);
                    Path f = backend.dir.resolve("mem");
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.setLength(1 << 20);
                        r.send(FrontendRequest.SET_MEM_TABLE.code(), memTable(0, 1L << 62, 0x7000_0000_0000L, 0, 1), raf.getFD());
                    }
                }
                case "mem-table-overlapping-regions" -> {
                    handshake(r);
                    Path f = backend.dir.resolve("mem");
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.setLength(2 << 20);
                        ByteBuffer b = ByteBuffer.allocate(8 + 64).order(ByteOrder.LITTLE_ENDIAN);
                        b.putInt(2).putInt(0);
                        // two regions over the same guest-physical and frontend addresses
                        b.putLong(0).putLong(2 << 20).putLong(0x7000_0000_0000L).putLong(0);
                        b.putLong(1 << 20).putLong(1 << 20).putLong(0x7000_0010_0000L).putLong(0);
                        r.send(FrontendRequest.SET_MEM_TABLE.code(), b.array(), raf.getFD(), raf.getFD());
                    }
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0x1000, 0, 0x7000_0000_1000L, 3, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(-4096L, 8192, 0x7000_0000_0000L, 3, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0x2000, 1 << 21, 0x7000_0000_0000L, 3, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0, -1L, 0, 0, IotlbType.INVALIDATE.wire()));
                }
                case "mem-table-too-many-regions" -> {
                    handshake(r);
                    r.send(FrontendRequest.SET_MEM_TABLE.code(), memTable(0, 1 << 20, 0x7000_0000_0000L, 0, 200));
                }
                case "ring-outside-memory" -> {
                    handshake(r);
                    Path f = backend.dir.resolve("mem2");
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.setLength(1 << 20);
                        r.send(FrontendRequest.SET_MEM_TABLE.code(), memTable(0, 1 << 20, 0x7000_0000_0000L, 0, 1), raf.getFD());
                    }
                    r.send(FrontendRequest.SET_VRING_NUM.code(), ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(0).putInt(256).array());
                    ByteBuffer addr = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
                    addr.putInt(0).putInt(0).putLong(0x7fff_0000_0000L).putLong(0x7fff_0001_0000L)
                            .putLong(0x7fff_0002_0000L).putLong(0);
                    r.send(FrontendRequest.SET_VRING_ADDR.code(), addr.array());
                    r.send(FrontendRequest.SET_VRING_KICK.code(), u64(0x100)); // no fd flag
                    r.send(FrontendRequest.SET_VRING_ENABLE.code(), ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(0).putInt(1).array());
                }
                case "iotlb-zero-and-wrapping" -> {
                    handshake(r);
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0x1000, 0, 0x7000_0000_0000L, 3, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(-4096L, 8192, 0x7000_0000_0000L, 3, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0, -1L, -1L, 0xff, IotlbType.UPDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0, -1L, 0, 0, IotlbType.INVALIDATE.wire()));
                    r.send(FrontendRequest.IOTLB_MSG.code(), iotlb(0, 4096, 0, 0, 77)); // unknown type
                }
                case "vring-index-out-of-range" -> {
                    handshake(r);
                    r.send(FrontendRequest.SET_VRING_NUM.code(), ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(100_000).putInt(256).array());
                    r.send(FrontendRequest.SET_VRING_BASE.code(), ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(-1).putInt(0).array());
                    r.send(FrontendRequest.GET_VRING_BASE.code(), ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(5000).putInt(0).array());
                }
                case "garbage" -> {
                    SplittableRandom rnd = new SplittableRandom(7);
                    byte[] g = new byte[64 * 1024];
                    rnd.nextBytes(g);
                    r.out.write(g);
                }
                default -> throw new IllegalArgumentException(name);
            }
            r.out.flush();
            r.readReply(); // give the backend time to act on it; it may close the connection
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"truncated-header", "oversized-size", "unknown-request", "short-payload",
        "fd-where-none-expected", "mem-table-without-fds", "mem-table-huge-region", "mem-table-overlapping-regions",
        "mem-table-too-many-regions",
        "ring-outside-memory", "iotlb-zero-and-wrapping", "vring-index-out-of-range", "garbage"})
    void backendSurvivesAndServesTheNextFrontend(String attack) throws Exception {
        int eventsBefore = backend.events.size();
        try (io.jvhost.testing.CapturingHandler log = io.jvhost.testing.CapturingHandler.install("dpdk")) {
            attack(attack);
            Thread.sleep(50);
            // what DPDK made of it, for docs/security.md
            StringBuilder said = new StringBuilder("HOSTILE " + attack + ":");
            log.records().stream().filter(r -> r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue())
                    .map(r -> r.getMessage().replaceAll("\\(/tmp/[^)]*\\) ", "")).distinct()
                    .forEach(m -> said.append(" | ").append(m));
            System.out.println(said);
        }
        assertThat("no device was started for the hostile connection", backend.events.subList(eventsBefore, backend.events.size()),
                not(hasItem(org.hamcrest.Matchers.startsWith("new"))));
        assertThat(backend.port.isOpen(), equalTo(true));
        // a well-behaved frontend afterwards: frames both ways, byte-exact
        try (EthPort guest = EthPort.virtioUser(backend.port.socket(), 1, true, backend.pool);
                PacketBatch tx = PacketBatch.allocate(8); PacketBatch rx = PacketBatch.allocate(8)) {
            VhostDevice d = awaitNew(eventsBefore);
            Traffic.fill(backend.pool, tx, 0, 64, 1500, 3000);
            int[] sent = {0};
            boolean ok = Traffic.pollUntil(10_000, () -> {
                guest.txBurst(0, tx);
                d.dequeue(0, backend.pool, rx);
                return rx.count() == 3;
            });
            assertThat("frames from the next frontend", ok, equalTo(true));
            for (int i = 0; i < 3; i++) {
                assertThat(Traffic.mismatch(rx.packet(i), i, new int[] {64, 1500, 3000}[i]), equalTo(null));
            }
            rx.clear();
            sent[0]++;
        }
    }

    private static VhostDevice awaitNew(int eventsBefore) throws InterruptedException {
        VhostDevice d = backend.port.awaitDevice(Duration.ofSeconds(10));
        return d;
    }
}
