package io.jvhost.mbuf;

import static io.jvhost.internal.UnsafeMemory.UNSAFE;

import io.jvhost.internal.NativeLoader;
import io.jvhost.internal.NativeMbuf;

/**
 * A reusable burst of packets: an array of mbuf pointers in native memory, which the data path
 * fills and drains with one native call per burst. The batch owns the packets it holds.
 *
 * <p>Ownership: {@code dequeue}/{@code rxBurst} append packets; {@code enqueue}/{@code txBurst}
 * remove from the front the packets the ring took and leave the rest in the batch, for the caller
 * to retry or {@link #clear()} (free). {@link #close()} frees what is left. Nothing is lost or
 * leaked as long as every batch is closed.
 *
 * <p>Not thread-safe: one thread uses a batch at a time. Steady-state use allocates nothing on the
 * Java heap: the {@link Packet} views are made once, with the batch.
 */
public final class PacketBatch implements AutoCloseable {
    /** Largest capacity: DPDK burst calls count in uint16_t. */
    public static final int MAX_CAPACITY = 4096;

    private final int capacity;
    private final Packet[] packets;
    private long pointers;
    private int count;

    private PacketBatch(int capacity) {
        this.capacity = capacity;
        this.pointers = UNSAFE.allocateMemory(8L * capacity);
        UNSAFE.setMemory(pointers, 8L * capacity, (byte) 0);
        this.packets = new Packet[capacity];
        for (int i = 0; i < capacity; i++) {
            packets[i] = new Packet(this, i);
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
        NativeLoader.load();
        return new PacketBatch(capacity);
    }

    /** @return the most packets the batch holds */
    public int capacity() {
        return capacity;
    }

    /** @return the packets it holds now */
    public int count() {
        return count;
    }

    /** @return whether it holds no packet */
    public boolean isEmpty() {
        return count == 0;
    }

    /** @return room left */
    public int remaining() {
        return capacity - count;
    }

    /**
     * @param index 0 to count() - 1
     * @return a view of that packet (the same object every time for this index)
     */
    public Packet packet(int index) {
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
     */
    public boolean allocate(MbufPool pool, int n) {
        checkOpen();
        if (n < 0 || n > remaining()) {
            throw new IllegalArgumentException("cannot add " + n + " packets to a batch with room for " + remaining());
        }
        if (n == 0) {
            return true;
        }
        if (NativeMbuf.allocBulk(pool.address(), pointers, count, n) != 0) {
            return false;
        }
        count += n;
        return true;
    }

    /** Frees every packet it holds. */
    public void clear() {
        checkOpen();
        if (count > 0) {
            NativeMbuf.freeBulk(pointers, 0, count);
            count = 0;
        }
    }

    /**
     * Frees the first {@code n} packets and moves the rest to the front: drops a prefix.
     *
     * @param n how many, at most count()
     */
    public void freeFirst(int n) {
        checkOpen();
        if (n < 0 || n > count) {
            throw new IllegalArgumentException("cannot free " + n + " of " + count + " packets");
        }
        if (n == 0) {
            return;
        }
        NativeMbuf.freeBulk(pointers, 0, n);
        UNSAFE.copyMemory(pointers + 8L * n, pointers, 8L * (count - n));
        count -= n;
    }

    /** Frees what it holds and its memory; idempotent. */
    @Override
    public void close() {
        if (pointers == 0) {
            return;
        }
        clear();
        UNSAFE.freeMemory(pointers);
        pointers = 0;
    }

    /** @return whether the batch is open */
    public boolean isOpen() {
        return pointers != 0;
    }

    // --- for jvhost's data path ---------------------------------------------------------------

    /**
     * @return the address of the pointer array
     * @throws IllegalStateException if closed
     */
    public long pointersAddress() {
        checkOpen();
        return pointers;
    }

    /**
     * Records that a native call removed {@code n} packets from the front (it moved the rest).
     *
     * @param n how many
     */
    public void removedFromFront(int n) {
        count -= n;
    }

    /**
     * Records that a native call appended {@code n} packets.
     *
     * @param n how many
     */
    public void appended(int n) {
        count += n;
    }

    long mbuf(int index) {
        checkOpen();
        return UNSAFE.getLong(pointers + 8L * index);
    }

    void checkOpen() {
        if (pointers == 0) {
            throw new IllegalStateException("packet batch is closed");
        }
    }

    @Override
    public String toString() {
        return "PacketBatch[" + count + "/" + capacity + (isOpen() ? "]" : ", closed]");
    }
}
