package io.jvhost.frontend;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.protocol.VirtioFeature;
import io.jvhost.serve.Mode;
import io.jvhost.serve.PortServer;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostListener;
import io.jvhost.vhost.VhostUserPort;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migration API of {@link VhostDevice} against the dirty-page log a frontend hands over, as QEMU
 * does when it migrates ({@code SET_LOG_BASE}, then {@code VHOST_F_LOG_ALL} in SET_FEATURES, then each vring's address
 * with the log flag): the
 * Java frontend plays QEMU (SET_VRING_ADDR with VHOST_VRING_F_LOG too) and reads the bitmap back. {@link VhostDevice#isLogging()} follows
 * LOG_ALL; {@link VhostDevice#logWrite} and {@link VhostDevice#logUsedVring} set exactly the bits of
 * the pages they name while logging and none otherwise; DPDK's own data path logs the pages it
 * writes. QEMU's real migration through jvhost: io.jvhost.guests.MigrationTest.
 */
class MigrationLogTest {
    static final long PAGE = 4096;

    @TempDir
    Path dir;

    @Test
    void logWriteMarksExactlyThePagesWrittenWhileLogging() throws Exception {
        SharedEal.get();
        AtomicInteger logAllOn = new AtomicInteger();
        AtomicInteger logAllOff = new AtomicInteger();
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "jvhost-log");
        try (MbufPool pool = MbufPool.create(1023);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("log.sock")).listener(new VhostListener() {
                    @Override
                    public void featuresChanged(VhostUserPort p, int vid, long features) {
                        (VirtioFeature.LOG_ALL.isIn(features) ? logAllOn : logAllOff).incrementAndGet();
                    }
                }).open();
                PortServer server = PortServer.start(List.of(port), Mode.LOOPBACK, pool, 64, 0);
                VirtioNetFrontend fe = VirtioNetFrontend.builder(port.socket()).open();
                RandomAccessFile logFile = new RandomAccessFile(shm.resolve("log").toFile(), "rw")) {
            VhostDevice d = awaitDevice(port);
            long pages = fe.memory().size() / PAGE;
            long logBytes = (pages + 7) / 8;
            logFile.setLength(logBytes);
            MappedByteBuffer log = logFile.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, logBytes);
            fe.connection().setLogBase(logFile.getFD(), logBytes, 0);

            // a log base alone is not logging: QEMU sets LOG_ALL when the migration starts
            assertThat(d.isLogging(), is(false));
            d.logWrite(5 * PAGE, 100);
            assertThat("no bit set while not logging", bits(log), equalTo(new BitSet()));

            fe.connection().setFeatures(fe.features() | VirtioFeature.LOG_ALL.mask());
            awaitTrue("LOG_ALL reported to the listener", () -> logAllOn.get() == 1);
            vringLog(fe, true); // then, as QEMU does, each vring's used ring address for the log
            assertThat(d.isLogging(), is(true));
            d.logWrite(5 * PAGE + 10, 100); // inside page 5
            d.logWrite(16 * PAGE - 1, 2); // the last byte of page 15 and the first of page 16
            BitSet want = new BitSet();
            want.set(5);
            want.set(15, 17);
            assertThat(bits(log), equalTo(want));
            // ranges DPDK would wrap around are refused before they reach it
            assertThrows(IllegalArgumentException.class, () -> d.logWrite(-PAGE, 1));
            assertThrows(IllegalArgumentException.class, () -> d.logWrite(Long.MAX_VALUE, 2));
            assertThrows(IllegalArgumentException.class, () -> d.logWrite(PAGE, 0));
            assertThrows(IllegalArgumentException.class, () -> d.logUsedVring(0, -1, 4));
            assertThat(bits(log), equalTo(want));

            // the used ring of vring 0, as an application that fills a used ring itself would log it
            long usedPage = fe.layout(0).usedGpa() / PAGE;
            d.logUsedVring(0, 0, 4);
            want.set((int) usedPage);
            assertThat(bits(log), equalTo(want));

            // DPDK's data path logs on its own: a frame looped back into an rx buffer marks pages
            clear(log);
            byte[] frame = new byte[60];
            frame[0] = 2;
            assertThat(fe.send(0, frame, 0, frame.length), is(true));
            assertThat("the frame came back", fe.awaitReceive(0, Duration.ofSeconds(10)), is(true));
            byte[] got = new byte[2048];
            assertThat(fe.receive(0, got), greaterThan(0));
            BitSet byDpdk = bits(log);
            assertThat("pages logged by DPDK's enqueue " + byDpdk, byDpdk.cardinality(), greaterThan(0));
            assertThat("the rx used ring among them", byDpdk.get((int) usedPage), is(true));

            // the migration ends: LOG_ALL off, nothing logged any more
            fe.connection().setFeatures(fe.features());
            vringLog(fe, false);
            awaitTrue("LOG_ALL off reported to the listener", () -> logAllOff.get() == 1);
            assertThat(d.isLogging(), is(false));
            clear(log);
            d.logWrite(7 * PAGE, 1);
            assertThat(bits(log), equalTo(new BitSet()));
        } finally {
            Files.deleteIfExists(shm.resolve("log"));
            Files.deleteIfExists(shm);
        }
    }

    /** SET_VRING_ADDR again for every vring, with or without VHOST_VRING_F_LOG and the used ring's GPA. */
    static void vringLog(VirtioNetFrontend fe, boolean on) throws VhostUserException {
        for (int v = 0; v < 2 * fe.queuePairs(); v++) {
            VringLayout l = fe.layout(v);
            fe.connection().setVringAddr(v, l.descAddr(), l.usedAddr(), l.availAddr(), on, on ? l.usedGpa() : 0);
        }
    }

    static VhostDevice awaitDevice(VhostUserPort port) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (port.currentDevice() == null || !port.currentDevice().isAlive()) {
            assertThat("jvhost saw the frontend's device in time", System.nanoTime() < deadline, is(true));
            Thread.sleep(1);
        }
        return port.currentDevice();
    }

    /** SET_FEATURES has no reply unless REPLY_ACK was negotiated: wait for the backend to act on it. */
    static void awaitTrue(String what, java.util.function.BooleanSupplier ok) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!ok.getAsBoolean()) {
            assertThat(what, System.nanoTime() < deadline, is(true));
            Thread.sleep(1);
        }
    }

    static BitSet bits(MappedByteBuffer log) {
        ByteBuffer b = log.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.clear();
        return BitSet.valueOf(b);
    }

    static void clear(MappedByteBuffer log) {
        for (int i = 0; i < log.capacity(); i++) {
            log.put(i, (byte) 0);
        }
    }
}
