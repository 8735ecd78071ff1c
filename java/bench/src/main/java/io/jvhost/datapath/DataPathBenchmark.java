package io.jvhost.datapath;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.eal.LcoreRegistration;
import io.jvhost.ethdev.EthPort;
import io.jvhost.bench.NativeBench;
import io.jvhost.internal.NativeEal;
import io.jvhost.internal.NativeHandles;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.PacketBatch;
import io.jvhost.vhost.VhostDevice;
import io.jvhost.vhost.VhostUserPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * jvhost's data path from Java against the same loop in C (native/bench.c), on a jvhost port with
 * DPDK's virtio-user in the same process. One iteration: allocate {@code burst} 64-byte frames,
 * enqueue them to the guest, let the guest receive and send them back, dequeue them, free all.
 * Score: ns per iteration; divide by burst for the per-packet cost (scripts/bench-datapath.sh
 * does). Also the bare cost of a JNI call into the shim.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DataPathBenchmark {
    @Param({"1", "8", "32", "64"})
    int burst;

    private Eal eal;
    private LcoreRegistration lcore;
    private MbufPool pool;
    private VhostUserPort port;
    private EthPort guest;
    private VhostDevice device;
    private PacketBatch tx;
    private PacketBatch grx;
    private PacketBatch rx;
    private final byte[] frame = new byte[64];
    private long poolAddress;
    private Path dir;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        eal = Eal.start(EalConfig.builder().memoryMb(512).build());
        lcore = eal.registerThread();
        pool = MbufPool.create(null, 8192, 256, MbufPool.DEFAULT_DATA_ROOM);
        dir = Files.createTempDirectory("jvhost-jmh");
        port = VhostUserPort.builder(dir.resolve("s")).stats(false).open();
        guest = EthPort.virtioUser(port.socket(), 1, true, pool);
        device = port.awaitDevice(Duration.ofSeconds(10));
        poolAddress = NativeHandles.pool(pool).acquire(); // released in tearDown
        tx = PacketBatch.allocate(burst);
        grx = PacketBatch.allocate(burst);
        rx = PacketBatch.allocate(burst);
        frame[0] = 0x02;
        frame[12] = 0x08;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        tx.close();
        grx.close();
        rx.close();
        guest.close();
        port.close();
        NativeHandles.pool(pool).release();
        pool.close();
        lcore.close();
        eal.close();
        Files.deleteIfExists(dir);
    }

    /** The loop in Java: one native call per burst step. */
    @Benchmark
    public int javaLoop() {
        tx.allocate(pool, burst);
        for (int i = 0; i < burst; i++) {
            tx.packet(i).setData(frame, 0, frame.length);
        }
        device.enqueue(0, tx);
        tx.clear();
        guest.rxBurst(0, grx);
        guest.txBurst(0, grx);
        grx.clear();
        int n = device.dequeue(0, pool, rx);
        int received = 0;
        for (int i = 0; i < n; i++) {
            received += rx.packet(i).length() > 0 ? 1 : 0;
        }
        rx.clear();
        return received;
    }

    /** The same loop in C, one iteration per JNI call. */
    @Benchmark
    public long cLoop() {
        return NativeBench.loop(device.vid(), guest.portId(), poolAddress, burst, 1);
    }

    /** The bare cost of a JNI call into the shim (rte_lcore_id). */
    @Benchmark
    public int jniCall() {
        return NativeEal.lcoreId();
    }
}
