package io.jvhost.mbuf;

import io.jvhost.Jvhost;
import io.jvhost.internal.MbufArray;
import io.jvhost.internal.MbufLayout;
import io.jvhost.internal.MempoolHandle;
import io.jvhost.internal.NativeHandles;
import io.jvhost.internal.NativeMemory;
import io.jvhost.internal.NativeMbuf;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A reusable burst of packets: an array of mbuf pointers in native memory, which the data path
 * fills and drains with one native call per burst. The batch owns the packets it holds.
 *
 * <p>Ownership: {@code dequeue}/{@code rxBurst} append packets; {@code enqueue}/{@code txBurst}
 * remove from the front the packets the ring took and leave the rest in the batch, for the caller
 * to retry or {@link #clear()} (free). {@link #close()} frees what is left. Nothing is lost or
 * leaked as long as every batch is closed. {@link io.jvhost.eal.Eal#close()} closes the batches still
 * open first (freeing their packets), so a batch used after that says it is closed.
 *
 * <p>Threads: one thread uses a batch at a time. A burst or other native operation on a batch
 * that another thread is using at that moment (closing it included) throws
 * {@link IllegalStateException} instead of racing. Steady-state use allocates nothing on the Java
 * heap: the {@link Packet} views are made once, with the batch.
 */
public final class PacketBatch implements AutoCloseable {
    /** Largest capacity: DPDK burst calls count in uint16_t. */
    public static final int MAX_CAPACITY = 4096;

    static {
        NativeHandles.registerBatches(b -> ((PacketBatch) b).array);
    }

    final MbufArray array;
    private final Packet[] packets;

    private PacketBatch(int capacity) {
        this.array = new MbufArray(capacity);
        this.packets = new Packet[capacity];
        for (int i = 0; i < capacity; i++) {
            packets[i] = new Packet(array, i);
        }
    }

    /**
     * @param capacity the most packets it holds, 1 to {@value #MAX_CAPACITY}
     * @return an empty batch
     */
    public static PacketBatch allocate(int capacity) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("batch capacity must be 1.." + MAX_CAPACITY + ": " + capacity);
        }
        Jvhost.loadNativeLibrary();
        return new PacketBatch(capacity);
    }

    /** @return the most packets the batch holds */
    public int capacity() {
        return array.capacity();
    }

    /** @return the packets it holds now */
    public int count() {
        return array.count();
    }

    /** @return whether it holds no packet */
    public boolean isEmpty() {
        return array.count() == 0;
    }

    /** @return room left */
    public int remaining() {
        return array.remaining();
    }

    /**
     * @param index 0 to count() - 1
     * @return a view of that packet (the same object every time for this index)
     * @throws IllegalStateException if the batch is closed
     * @throws IndexOutOfBoundsException if the batch holds no packet at that index
     */
    public Packet packet(int index) {
        array.checkOpen();
        int count = array.count();
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("packet " + index + " of a batch of " + count);
        }
        return packets[index];
    }

    /**
     * Appends {@code n} fresh, empty packets from a pool ({@code rte_pktmbuf_alloc_bulk}): all or
     * nothing.
     *
     * @param pool where from
     * @param n how many, at most {@link #remaining()}
     * @return whether the pool had them
     * @throws IllegalStateException if the batch or the pool is closed
     */
    public boolean allocate(MbufPool pool, int n) {
        MempoolHandle mempool = NativeHandles.pool(pool);
        array.checkOpen();
        checkRoom(n);
        if (n == 0) {
            return true;
        }
        long mp = mempool.acquire();
        try {
            array.enter();
            try {
                if (NativeMbuf.allocBulk(mp, array.pointers(), array.count(), n) != 0) {
                    return false;
                }
                array.moved(n);
                return true;
            } finally {
                array.exit();
            }
        } finally {
            mempool.release();
        }
    }

    /**
     * Appends {@code n} fresh single-segment packets of {@code length} bytes, each starting with the
     * template's remaining bytes; the rest of each frame is whatever its buffer held, as in
     * testpmd's txonly. A traffic generator's burst in one native call, with no per-packet work
     * in Java. All or nothing.
     *
     * @param pool where from
     * @param n how many, at most {@link #remaining()}
     * @param template a direct buffer whose remaining bytes start every packet (its position does
     *     not move)
     * @param length frame length: at least the template's remaining bytes, at most the pool's
     *     data room less DPDK's headroom
     * @return whether the pool had them
     * @throws IllegalArgumentException for a heap buffer, or a length that does not fit
     * @throws IllegalStateException if the batch or the pool is closed
     */
    public boolean allocate(MbufPool pool, int n, ByteBuffer template, int length) {
        MempoolHandle mempool = NativeHandles.pool(pool);
        array.checkOpen();
        checkRoom(n);
        if (!template.isDirect()) {
            throw new IllegalArgumentException("the template must be a direct buffer");
        }
        int copy = template.remaining();
        int room = pool.dataRoom() - MbufLayout.HEADROOM;
        if (length < copy || length > room) {
            throw new IllegalArgumentException("length " + length + " outside [" + copy + ", " + room
                    + "] (template bytes to the pool's room)");
        }
        if (n == 0) {
            return true;
        }
        long mp = mempool.acquire();
        try {
            array.enter();
            try {
                long src = NativeMemory.MEM.address(template) + template.position();
                if (NativeMbuf.allocFilled(mp, array.pointers(), array.count(), n, src, copy, length) != 0) {
                    return false;
                }
                array.moved(n);
                return true;
            } finally {
                array.exit();
                java.lang.ref.Reference.reachabilityFence(template);
            }
        } finally {
            mempool.release();
        }
    }

    private void checkRoom(int n) {
        if (n < 0 || n > array.remaining()) {
            throw new IllegalArgumentException("cannot add " + n + " packets to a batch with room for " + array.remaining());
        }
    }

    /**
     * Frees every packet it holds.
     *
     * @throws IllegalStateException if the batch is closed or another thread uses it now
     */
    public void clear() {
        array.enter();
        try {
            array.freeFirst(array.count());
        } finally {
            array.exit();
        }
    }

    /**
     * Frees the first {@code n} packets and moves the rest to the front: drops a prefix.
     *
     * @param n how many, at most count()
     * @throws IllegalStateException if the batch is closed or another thread uses it now
     */
    public void freeFirst(int n) {
        array.enter();
        try {
            if (n < 0 || n > array.count()) {
                throw new IllegalArgumentException("cannot free " + n + " of " + array.count() + " packets");
            }
            array.freeFirst(n);
        } finally {
            array.exit();
        }
    }

    /**
     * Frees one packet and moves the packets after it down by one, keeping their order: how a
     * network function drops what it filters out. The views of {@link #packet} follow the slots, so
     * a loop that drops while it walks the batch walks it from the end.
     *
     * @param index 0 to count() - 1
     * @throws IllegalStateException if the batch is closed or another thread uses it now
     * @throws IndexOutOfBoundsException if the batch holds no packet at that index
     */
    public void drop(int index) {
        array.enter();
        try {
            Objects.checkIndex(index, array.count());
            array.freeAt(index);
        } finally {
            array.exit();
        }
    }

    /**
     * Frees what it holds; idempotent.
     *
     * @throws IllegalStateException if another thread is using the batch right now
     */
    @Override
    public void close() {
        array.close();
    }

    /** @return whether the batch is open */
    public boolean isOpen() {
        return array.isOpen();
    }

    @Override
    public String toString() {
        return "PacketBatch" + array;
    }
}
