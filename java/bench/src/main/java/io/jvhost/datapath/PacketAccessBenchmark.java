package io.jvhost.datapath;

import io.jvhost.Jvhost;
import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.mbuf.Packet;
import io.jvhost.mbuf.PacketBatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Packet memory from Java, no I/O: a batch of 32 mbufs (64 to 1500 bytes) read and written in
 * place through {@link Packet}, i.e. through sun.misc.Unsafe on JDK 17-21 and FFM on JDK 22+
 * ({@link Jvhost#memoryAccess()}, printed at setup). Run the same jar on both JDKs to compare the
 * two paths (docs/benchmarks.md). Score: ns per batch of 32.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PacketAccessBenchmark {
    private static final int BURST = 32;

    private Eal eal;
    private MbufPool pool;
    private PacketBatch batch;
    private final byte[] out = new byte[64];

    @Setup(Level.Trial)
    public void setUp() {
        eal = Eal.start(EalConfig.builder().memoryMb(128).build());
        pool = MbufPool.create(null, 255, 0, MbufPool.DEFAULT_DATA_ROOM);
        batch = PacketBatch.allocate(BURST);
        if (!batch.allocate(pool, BURST)) {
            throw new IllegalStateException("pool empty");
        }
        byte[] frame = new byte[1500];
        for (int i = 0; i < frame.length; i++) {
            frame[i] = (byte) (i * 31 + 7);
        }
        for (int i = 0; i < BURST; i++) {
            batch.packet(i).setData(frame, 0, 64 + (i * 1436 / (BURST - 1)));
        }
        System.out.println("# memory access: " + Jvhost.memoryAccess() + " on Java " + Runtime.version());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        batch.close();
        pool.close();
        eal.close();
    }

    /** PortServer's macswap: per packet one length, two reads, two writes (typed, big-endian). */
    @Benchmark
    public int macswap() {
        int swapped = 0;
        for (int i = 0; i < BURST; i++) {
            Packet p = batch.packet(i);
            if (p.length() >= 12) {
                long a = p.getLong(0);
                int b = p.getInt(8);
                long dst = a >>> 16;
                long src = (a & 0xffff) << 32 | (b & 0xffff_ffffL);
                p.putLong(0, src << 16 | dst >>> 32);
                p.putInt(8, (int) dst);
                swapped++;
            }
        }
        return swapped;
    }

    /** Header parsing: Ethernet type, IPv4 fields and UDP ports, 7 typed reads per packet. */
    @Benchmark
    public long parseHeaders() {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            Packet p = batch.packet(i);
            sum += p.getShort(12) + p.getByte(14) + p.getShort(16) + p.getByte(23) + p.getInt(26)
                    + p.getInt(30) + p.getInt(34);
        }
        return sum;
    }

    /** Bulk copy of each packet's first 64 bytes out to a byte[] and back in. */
    @Benchmark
    public int copy64() {
        int sum = 0;
        for (int i = 0; i < BURST; i++) {
            Packet p = batch.packet(i);
            p.copyTo(0, out, 0, 64);
            p.copyFrom(0, out, 0, 64);
            sum += out[i];
        }
        return sum;
    }
}
