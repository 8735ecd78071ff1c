package io.jvhost.datapath;

import io.jvhost.internal.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The raw accesses under {@code Packet}: 64 int reads, or 64 long read-modify-writes, at absolute
 * addresses through {@code NativeMemory.MEM} (Unsafe or FFM; {@code -Djvhost.memoryAccess=unsafe}
 * picks Unsafe on JDK 22+). Score: ns per 64 accesses. No EAL needed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MemoryAccessBenchmark {
    private ByteBuffer buffer;
    private long base;

    @Setup
    public void setUp() {
        buffer = ByteBuffer.allocateDirect(4096);
        base = NativeMemory.MEM.address(buffer);
        System.out.println("# memory access: " + NativeMemory.kind() + " on Java " + Runtime.version());
    }

    @Benchmark
    public int readInts() {
        int sum = 0;
        for (int i = 0; i < 64; i++) {
            sum += NativeMemory.MEM.getInt(base + i * 6);
        }
        return sum;
    }

    @Benchmark
    public void updateLongs() {
        for (int i = 0; i < 64; i++) {
            long a = base + i * 10;
            NativeMemory.MEM.putLong(a, NativeMemory.MEM.getLong(a) + 1);
        }
    }
}
