package io.jvhost.security;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;

import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.testing.EventLog;
import io.jvhost.testing.SharedEal;
import io.jvhost.testing.Traffic;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * The jvhost side every security test attacks: one vhost-user port (with or without the IOMMU) in
 * a directory of its own, a pool, and the port's callbacks as "new VID" / "destroy VID" lines.
 * Closing it checks what every test must leave true: every mbuf came back to the pool.
 */
final class PortUnderTest implements AutoCloseable {
    final Path dir;
    final MbufPool pool;
    final VhostUserPort port;
    final List<String> events = new CopyOnWriteArrayList<>();

    private PortUnderTest(String name, int mbufs, boolean iommu) throws IOException {
        SharedEal.get();
        dir = Files.createTempDirectory(name);
        pool = MbufPool.create(null, mbufs, 256, MbufPool.DEFAULT_DATA_ROOM);
        port = VhostUserPort.builder(dir.resolve("s")).iommu(iommu).listener(new EventLog(events)).open();
    }

    /**
     * @param name prefix of the temporary directory
     * @param mbufs pool size
     * @param iommu whether the port offers VIRTIO_F_IOMMU_PLATFORM
     * @return the open port and pool
     */
    static PortUnderTest open(String name, int mbufs, boolean iommu) throws IOException {
        return new PortUnderTest(name, mbufs, iommu);
    }

    /** @return the callbacks recorded from index {@code from} on */
    List<String> eventsSince(int from) {
        List<String> all = new ArrayList<>(events);
        return all.subList(Math.min(from, all.size()), all.size());
    }

    /**
     * Waits for the live device a new frontend made, and for its one newDevice callback.
     *
     * @param before the port's current device before the frontend connected (may be null)
     * @param eventsBefore {@code events.size()} before it connected
     * @return the new device
     */
    VhostDevice awaitNewDevice(VhostDevice before, int eventsBefore) {
        assertThat("jvhost saw the frontend's device", Traffic.pollUntil(10_000, () -> port.currentDevice() != null
                && port.currentDevice() != before && port.currentDevice().isAlive()), is(true));
        VhostDevice device = port.currentDevice();
        assertThat(Traffic.pollUntil(5_000, () -> eventsSince(eventsBefore).contains("new " + device.vid())), is(true));
        assertThat("one newDevice for this frontend", eventsSince(eventsBefore), contains("new " + device.vid()));
        return device;
    }

    /** Dequeues from queue pair 0 for {@code millis}, returning the bytes of every packet that came. */
    List<byte[]> dequeueFor(VhostDevice device, long millis) {
        List<byte[]> got = new ArrayList<>();
        try (PacketBatch b = PacketBatch.allocate(32)) {
            long end = System.nanoTime() + millis * 1_000_000;
            while (System.nanoTime() < end) {
                device.dequeue(0, pool, b);
                for (int k = 0; k < b.count(); k++) {
                    got.add(b.packet(k).toByteArray());
                }
                b.clear();
                LockSupport.parkNanos(200_000);
            }
        }
        return got;
    }

    /** Closes the port, checks that every mbuf came back, frees the pool, removes the directory. */
    @Override
    public void close() throws IOException {
        port.close();
        assertThat("mbufs of the pool still in use", pool.inUse(), equalTo(0));
        pool.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
