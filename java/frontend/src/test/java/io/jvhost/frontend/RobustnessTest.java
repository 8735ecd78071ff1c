package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.BackendRequest;
import io.jvhost.protocol.FrontendRequest;
import io.jvhost.protocol.Message;
import io.jvhost.protocol.MessageHeader;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.testing.NetVhostTestpmd;

/**
 * Failure handling: timeouts, peers that break the protocol, backends in client mode, and no
 * file descriptor left behind. The misbehaving peers are real Unix-socket servers that answer
 * wrongly on purpose.
 */
class RobustnessTest {
    @TempDir
    Path dir;

    /** A one-connection Unix-socket server that runs {@code script} on the accepted socket. */
    private Thread peer(Path sock, Consumer<AFUNIXSocket> script, CountDownLatch bound) {
        Thread t = new Thread(() -> {
            try (AFUNIXServerSocket server = AFUNIXServerSocket.newInstance()) {
                server.bind(AFUNIXSocketAddress.of(sock));
                bound.countDown();
                try (AFUNIXSocket s = server.accept()) {
                    script.accept(s);
                }
            } catch (IOException e) {
                // the test decides
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static byte[] readHeader(InputStream in) throws IOException {
        byte[] h = in.readNBytes(MessageHeader.BYTES);
        in.readNBytes(MessageHeader.decode(h, 0).size());
        return h;
    }

    /**
     * Regression: the backend-request reader polls in short windows; a message whose header
     * arrives at the end of a window must not be cut (that killed the reader, and with it every
     * later IOTLB MISS answer).
     */
    @Test
    void aMessageStartedAtTheEndOfAPollWindowIsReadWhole() throws Exception {
        AFUNIXSocket[] pair = SocketPairs.connected("test", 1_000_000_000L);
        try (VhostUserChannel ch = new VhostUserChannel(pair[0], "test")) {
            byte[] miss = Message.iotlb(BackendRequest.IOTLB_MSG, 0, VhostIotlbMsg.miss(0x1234000L, Access.RO))
                    .toBytes();
            OutputStream out = pair[1].getOutputStream();
            out.write(miss, 0, 12);
            out.flush();
            Thread writer = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    out.write(miss, 12, 32);
                    out.flush();
                } catch (Exception e) {
                    // the assertion below fails then
                }
            });
            writer.start();
            VhostUserChannel.Message m = ch.receive(TimeUnit.MILLISECONDS.toNanos(100), true, "a backend request",
                    TimeUnit.SECONDS.toNanos(5));
            writer.join();
            assertThat(m.request(), is(BackendRequest.IOTLB_MSG.code()));
            assertThat(m.le().getLong(0), is(0x1234000L));
            // and an idle window still returns nothing instead of failing
            assertThat(ch.receive(TimeUnit.MILLISECONDS.toNanos(50), true, "a backend request",
                    TimeUnit.SECONDS.toNanos(5)), is(nullValue()));
        } finally {
            pair[1].close();
        }
    }

    @Test
    void connectingToNothingTimesOut() {
        VhostUserException e = assertThrows(VhostUserException.class, () -> VirtioNetFrontend
                .builder(dir.resolve("nobody.sock")).timeout(Duration.ofMillis(300)).open());
        assertThat(e, instanceOf(VhostUserTimeoutException.class));
        assertThat(e.getMessage(), containsString("nobody.sock"));
    }

    @Test
    void silentBackendTimesOut() throws Exception {
        Path sock = dir.resolve("silent.sock");
        CountDownLatch bound = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        peer(sock, s -> {
            try {
                done.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, bound);
        bound.await();
        VhostUserException e = assertThrows(VhostUserTimeoutException.class,
                () -> VirtioNetFrontend.builder(sock).timeout(Duration.ofMillis(300)).open());
        assertThat(e.getMessage(), containsString("GET_FEATURES"));
        done.countDown();
    }

    @Test
    void wrongReplyIsAProtocolError() throws Exception {
        Path sock = dir.resolve("wrong.sock");
        CountDownLatch bound = new CountDownLatch(1);
        peer(sock, s -> {
            try {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                readHeader(in);
                // answer GET_FEATURES with a reply to SET_OWNER
                out.write(Message.of(FrontendRequest.SET_OWNER, MessageHeader.REPLY, new byte[8]).toBytes());
                in.read();
            } catch (IOException ignored) {
                // closed by the frontend
            }
        }, bound);
        bound.await();
        VhostUserException e = assertThrows(VhostUserException.class,
                () -> VirtioNetFrontend.builder(sock).timeout(Duration.ofSeconds(2)).open());
        assertThat(e.getMessage(), containsString("sent GET_FEATURES, got SET_OWNER"));
    }

    @Test
    void oversizedPayloadIsAProtocolError() throws Exception {
        Path sock = dir.resolve("huge.sock");
        CountDownLatch bound = new CountDownLatch(1);
        peer(sock, s -> {
            try {
                readHeader(s.getInputStream());
                s.getOutputStream().write(new MessageHeader(FrontendRequest.GET_FEATURES.code(),
                        MessageHeader.VERSION | MessageHeader.REPLY, -1).toBytes());
                s.getInputStream().read();
            } catch (IOException ignored) {
                // closed by the frontend
            }
        }, bound);
        bound.await();
        VhostUserException e = assertThrows(VhostUserException.class,
                () -> VirtioNetFrontend.builder(sock).timeout(Duration.ofSeconds(2)).open());
        assertThat(e.getMessage(), containsString("payload of 4294967295 bytes"));
    }

    @Test
    void backendClosingIsReported() throws Exception {
        Path sock = dir.resolve("closing.sock");
        CountDownLatch bound = new CountDownLatch(1);
        peer(sock, s -> {
            try {
                readHeader(s.getInputStream());
            } catch (IOException ignored) {
                // closing
            }
        }, bound);
        bound.await();
        VhostUserException e = assertThrows(VhostUserException.class,
                () -> VirtioNetFrontend.builder(sock).timeout(Duration.ofSeconds(2)).open());
        assertThat(e.getMessage(), containsString("closed the connection"));
    }

    @Test
    void missingFeatureIsRefusedClearly() throws Exception {
        try (NetVhostTestpmd t = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().iommu(false))) {
            VhostUserException e = assertThrows(VhostUserException.class,
                    () -> VirtioNetFrontend.builder(t.socket()).iommu(IommuMode.QEMU).open());
            assertThat(e.getMessage(), containsString("does not offer virtio features {33}"));
            // and the backend still takes the next frontend
            try (VirtioNetFrontend dev = VirtioNetFrontend.builder(t.socket()).open()) {
                Traffic.Result r = Traffic.exchange(dev, 0, 10, Traffic.SIZES, Duration.ofSeconds(10));
                assertThat(r.received().size(), is(10));
            }
        }
    }

    @Test
    void listensForABackendInClientMode() throws Exception {
        Path sock = dir.resolve("vhost-client.sock");
        // testpmd connects (and reconnects every second) to a socket path we create
        NetVhostTestpmd.Options o = NetVhostTestpmd.options().iommu(true).client(true);
        try (NetVhostTestpmd t = NetVhostTestpmd.startClient(dir, sock, o);
                VirtioNetFrontend dev = VirtioNetFrontend.builder(sock).listen(true).iommu(IommuMode.QEMU)
                        .timeout(Duration.ofSeconds(10)).open()) {
            Traffic.Result r = Traffic.exchange(dev, 0, 20, Traffic.SIZES, Duration.ofSeconds(10));
            assertThat(r.received().size(), is(20));
            for (int i = 0; i < 20; i++) {
                assertThat(r.received().get(i), is(Traffic.frame(0, i, Traffic.SIZES[i % Traffic.SIZES.length])));
            }
        }
        assertThat(Files.exists(sock), is(false));
    }

    /**
     * A split transmit ring whose device returns a slot twice is caught, not trusted (the slot
     * would be handed out twice): the test plays the device on rings nobody serves (a port without
     * a server), writing two used elements with the same id and publishing them.
     */
    @Test
    void splitUsedIdReturnedTwiceIsRefused() throws Exception {
        io.jvhost.testing.SharedEal.get();
        try (io.jvhost.vhost.VhostUserPort idle = io.jvhost.vhost.VhostUserPort.builder(dir.resolve("idle.sock")).open();
                VirtioNetFrontend dev = VirtioNetFrontend.builder(idle.socket()).open()) {
            byte[] f = Traffic.frame(0, 1, 100);
            assertThat(dev.send(0, f, 0, f.length), is(true));
            assertThat(dev.send(0, f, 0, f.length), is(true));
            assertThat(dev.txInFlight(0), is(2));
            long used = dev.layout(1).usedGpa();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.putInt(0).putInt(0).putInt(0).putInt(0); // used ring elements 0 and 1: {id 0, len 0}
            dev.memory().write(used + 4, b.array(), 0, 16);
            dev.memory().write(used + 2, new byte[] {2, 0}, 0, 2); // used->idx = 2
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> dev.txInFlight(0));
            assertThat(e.getMessage(), containsString("used id 0 on vring 1"));
        }
    }

    @Test
    void noFileDescriptorLeaks() throws Exception {
        try (NetVhostTestpmd t = NetVhostTestpmd.start(dir, NetVhostTestpmd.options().iommu(true))) {
            // warm up class loading and junixsocket's native library
            try (VirtioNetFrontend dev = VirtioNetFrontend.builder(t.socket()).iommu(IommuMode.QEMU).open()) {
                Traffic.exchange(dev, 0, 5, Traffic.SIZES, Duration.ofSeconds(10));
            }
            long before = openFds();
            java.util.Set<String> fdsBefore = fdTargets();
            for (int i = 0; i < 5; i++) {
                try (VirtioNetFrontend dev = VirtioNetFrontend.builder(t.socket()).iommu(IommuMode.QEMU).open()) {
                    Traffic.Result r = Traffic.exchange(dev, 0, 5, Traffic.SIZES, Duration.ofSeconds(10));
                    assertThat(r.received().size(), is(5));
                }
            }
            assertThrows(VhostUserException.class, () -> VirtioNetFrontend.builder(dir.resolve("none.sock"))
                    .timeout(Duration.ofMillis(100)).open());
            java.util.Set<String> fdsAfter = fdTargets();
            fdsAfter.removeAll(fdsBefore);
            assertThat("open fds after 5 devices and a failed open; new: " + fdsAfter, openFds(), lessThanOrEqualTo(before));
        }
    }

    private static java.util.Set<String> fdTargets() throws IOException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    out.add(p.getFileName() + "->" + Files.readSymbolicLink(p));
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
