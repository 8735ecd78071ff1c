package io.jvhost.mbuf;

import static io.jvhost.internal.UnsafeMemory.UNSAFE;

import io.jvhost.Jvhost;
import io.jvhost.internal.NativeMbuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * A reusable burst of packets: an array of mbuf pointers in native memory, which the data path
 * fills and drains with one native call per burst. The batch owns the packets it holds.
 *
 * <p>Ownership: {@code dequeue}/{@code rxBurst} append packets; {@code enqueue}/{@code txBurst}
 * remove from the front the packets the ring took and leave the rest in the batch, for the caller
 * to retry or {@link #clear()} (free). {@link #close()} frees what is left. Nothing is lost or
 * leaked as long as every batch is closed.
 *
 * <p>Threads: one thread uses a batch at a time. A burst or other native operation on a batch
 * that another thread is using at that moment (closing it included) throws
 * {@link IllegalStateException} instead of racing. Steady-state use allocates nothing on the Java
 * heap: the {@link Packet} views are made once, with the batch.
 */
public final class PacketBatch implements AutoCloseable {
    /** Largest capacity: DPDK burst calls count in uint16_t. */
    public static final int MAX_CAPACITY = 4096;

    private static final int FREE = 0;
    private static final int BUSY = 1;
    private static final int CLOSED = 2;
    private static final VarHandle STATE;
    private static final long BUFFER_ADDRESS;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(PacketBatch.class, "state", int.class);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int capacity;
    private final Packet[] packets;
    // Direct memory freed by the GC, not by close(): a stale read after close never faults.
    private final ByteBuffer memory;
    private final long pointers;
    private int count;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;

    private PacketBatch(int capacity) {
        this.capacity = capacity;
        this.memory = ByteBuffer.allocateDirect(8 * capacity);
        this.pointers = UNSAFE.getLong(memory, BUFFER_ADDRESS);
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
        Jvhost.loadNativeLibrary();
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
        checkRoom(n);
        if (n == 0) {
            return true;
        }
        long mp = pool.acquire();
        try {
            enter();
            try {
                if (NativeMbuf.allocBulk(mp, pointers, count, n) != 0) {
                    return false;
                }
                count += n;
                return true;
            } finally {
                exit();
            }
        } finally {
            pool.release();
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
     */
    public boolean allocate(MbufPool pool, int n, ByteBuffer template, int length) {
        checkRoom(n);
        if (!template.isDirect()) {
            throw new IllegalArgumentException("the template must be a direct buffer");
        }
        int copy = template.remaining();
        int room = pool.dataRoom() - io.jvhost.internal.MbufLayout.HEADROOM;
        if (length < copy || length > room) {
            throw new IllegalArgumentException("length " + length + " outside [" + copy + ", " + room
                    + "] (template bytes to the pool's room)");
        }
        if (n == 0) {
            return true;
        }
        long mp = pool.acquire();
        try {
            enter();
            try {
                long src = UNSAFE.getLong(template, BUFFER_ADDRESS) + template.position();
                if (NativeMbuf.allocFilled(mp, pointers, count, n, src, copy, length) != 0) {
                    return false;
                }
                count += n;
                return true;
            } finally {
                exit();
                java.lang.ref.Reference.reachabilityFence(template);
            }
        } finally {
            pool.release();
        }
    }

    private void checkRoom(int n) {
        if (n < 0 || n > remaining()) {
            throw new IllegalArgumentException("cannot add " + n + " packets to a batch with room for " + remaining());
        }
    }

    /** Frees every packet it holds. */
    public void clear() {
        enter();
        try {
            freeAll();
        } finally {
            exit();
        }
    }

    private void freeAll() {
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
        if (n < 0 || n > count) {
            throw new IllegalArgumentException("cannot free " + n + " of " + count + " packets");
        }
        if (n == 0) {
            return;
        }
        enter();
        try {
            NativeMbuf.freeBulk(pointers, 0, n);
            UNSAFE.copyMemory(pointers + 8L * n, pointers, 8L * (count - n));
            count -= n;
        } finally {
            exit();
        }
    }

    /**
     * Frees what it holds; idempotent.
     *
     * @throws IllegalStateException if another thread is using the batch right now
     */
    @Override
    public void close() {
        while (true) {
            int s = (int) STATE.getVolatile(this);
            if (s == CLOSED) {
                return;
            }
            if (s == BUSY) {
                throw new IllegalStateException("packet batch is in use by another thread; close it after its burst");
            }
            if (STATE.compareAndSet(this, FREE, BUSY)) {
                break;
            }
        }
        try {
            freeAll();
        } finally {
            STATE.setVolatile(this, CLOSED);
        }
    }

    /** @return whether the batch is open */
    public boolean isOpen() {
        return (int) STATE.getVolatile(this) != CLOSED;
    }

    // --- for jvhost's data path: enter() ... exit() around every native call on the batch --------

    /**
     * Takes the batch for one native operation.
     *
     * @throws IllegalStateException if it is closed or another thread has it
     */
    public void enter() {
        if (!STATE.compareAndSet(this, FREE, BUSY)) {
            throw new IllegalStateException((int) STATE.getVolatile(this) == CLOSED ? "packet batch is closed"
                    : "packet batch is in use by another thread");
        }
    }

    /** Gives the batch back after {@link #enter()}. */
    public void exit() {
        STATE.setRelease(this, FREE);
    }

    /** @return the address of the pointer array; use it between {@link #enter()} and {@link #exit()} */
    public long pointersAddress() {
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
        if ((int) STATE.getOpaque(this) == CLOSED) {
            throw new IllegalStateException("packet batch is closed");
        }
    }

    @Override
    public String toString() {
        return "PacketBatch[" + count + "/" + capacity + (isOpen() ? "]" : ", closed]");
    }
}
