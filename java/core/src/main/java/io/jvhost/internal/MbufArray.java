package io.jvhost.internal;

import static io.jvhost.internal.NativeMemory.MEM;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * The native half of a packet batch: an array of {@code rte_mbuf *} that one native call per burst
 * fills or drains, the number of packets it holds, and a small state machine (free, busy, closed)
 * that keeps two threads, or a burst and a close, from using it at once.
 *
 * <p>Only jvhost's data path changes the count, and only by what a native call reported: nothing
 * outside this package can make native code trust a wrong count or index. Every open array is
 * known (weakly) so that EAL shutdown can free their mbufs before DPDK's memory goes away.
 */
public final class MbufArray {
    private static final int FREE = 0;
    private static final int BUSY = 1;
    private static final int CLOSED = 2;
    private static final VarHandle STATE;
    private static final VarHandle GENERATION;
    // Weak: a batch dropped without close() must not be kept alive by this set.
    private static final Set<MbufArray> OPEN = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(MbufArray.class, "state", int.class);
            GENERATION = MethodHandles.lookup().findVarHandle(MbufArray.class, "generation", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int capacity;
    // Direct memory freed by the GC, not by close(): a stale read after close never faults.
    private final ByteBuffer memory;
    private final long pointers;
    private int count;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    private volatile boolean closedByEal;
    /**
     * Moves on whenever what the slots hold may have changed: after every native operation, at
     * close, and when a packet's lengths or offsets change ({@link #changed()}). A packet view
     * remembers its mbuf's addresses and lengths for one generation. Opaque reads: a close by
     * another thread (Eal.close()) is seen by a loop that keeps reading packets.
     */
    @SuppressWarnings("unused") // through GENERATION
    private volatile long generation;

    /** @param capacity pointer slots, checked by the caller */
    public MbufArray(int capacity) {
        NativeLoader.load();
        this.capacity = capacity;
        this.memory = ByteBuffer.allocateDirect(8 * capacity);
        this.pointers = MEM.address(memory);
        OPEN.add(this);
    }

    /** @return the most packets it holds */
    public int capacity() {
        return capacity;
    }

    /** @return the packets it holds now */
    public int count() {
        return count;
    }

    /** @return room left */
    public int remaining() {
        return capacity - count;
    }

    /**
     * Takes the array for one native operation; {@link #exit()} gives it back.
     *
     * @throws IllegalStateException if it is closed or another thread has it
     */
    public void enter() {
        if (!STATE.compareAndSet(this, FREE, BUSY)) {
            throw new IllegalStateException((int) STATE.getVolatile(this) == CLOSED ? closedMessage()
                    : "packet batch is in use by another thread");
        }
    }

    /** Gives the array back after {@link #enter()}. */
    public void exit() {
        changed(); // the native operation may have changed any slot
        STATE.setRelease(this, FREE);
    }

    /** @return the current generation (see the field); compare with an earlier one for equality only */
    public long generation() {
        return (long) GENERATION.getOpaque(this);
    }

    /** Marks what the slots hold as changed: views read it again from the mbufs. */
    public void changed() {
        GENERATION.setOpaque(this, (long) GENERATION.getOpaque(this) + 1);
    }

    /** @return the address of the pointer array; only between {@link #enter()} and {@link #exit()} */
    public long pointers() {
        return pointers;
    }

    /**
     * Records what a native call did between {@link #enter()} and {@link #exit()}.
     *
     * @param n packets it appended after the current ones (negative: removed from the front)
     */
    public void moved(int n) {
        count += n;
    }

    /**
     * @param index 0 to count() - 1
     * @return the mbuf in that slot
     * @throws IllegalStateException if closed, or the slot is empty now
     */
    public long mbuf(int index) {
        if ((int) STATE.getOpaque(this) == CLOSED) {
            throw new IllegalStateException(closedMessage());
        }
        if (index >= count) {
            throw new IllegalStateException("slot " + index + " of the batch holds no packet now (it holds " + count + ")");
        }
        return MEM.getLong(pointers + 8L * index);
    }

    /** @throws IllegalStateException if closed */
    public void checkOpen() {
        if ((int) STATE.getOpaque(this) == CLOSED) {
            throw new IllegalStateException(closedMessage());
        }
    }

    /** @return whether it is open */
    public boolean isOpen() {
        return (int) STATE.getVolatile(this) != CLOSED;
    }

    /** Frees the first {@code n} packets and moves the rest to the front; between enter and exit. */
    public void freeFirst(int n) {
        if (n > 0) {
            NativeMbuf.freeBulk(pointers, 0, n);
            MEM.copy(pointers + 8L * n, pointers, 8L * (count - n));
            count -= n;
        }
    }

    /** Frees the packet at {@code index} and moves the later ones down by one; between enter and exit. */
    public void freeAt(int index) {
        NativeMbuf.freeBulk(pointers, index, 1);
        MEM.copy(pointers + 8L * (index + 1), pointers + 8L * index, 8L * (count - index - 1));
        count--;
    }

    /**
     * Frees what it holds; idempotent.
     *
     * @throws IllegalStateException if another thread is using it right now
     */
    public void close() {
        if (!tryClose(false)) {
            throw new IllegalStateException("packet batch is in use by another thread; close it after its burst");
        }
    }

    private boolean tryClose(boolean byEal) {
        while (true) {
            int s = (int) STATE.getVolatile(this);
            if (s == CLOSED) {
                return true;
            }
            if (s == BUSY) {
                return false;
            }
            if (STATE.compareAndSet(this, FREE, BUSY)) {
                break;
            }
        }
        try {
            changed(); // views stop trusting what they saw before the mbufs go back
            freeFirst(count);
        } finally {
            closedByEal = byEal;
            STATE.setVolatile(this, CLOSED);
            changed(); // a view that looked between the two saw the slots still full: it looks again, and sees closed
            OPEN.remove(this);
        }
        return true;
    }

    private String closedMessage() {
        return closedByEal ? "packet batch is closed (by Eal.close())" : "packet batch is closed";
    }

    /**
     * Closes every open array, for EAL shutdown: waits up to {@code timeoutMillis} for bursts in
     * flight to end.
     *
     * @return how many were closed
     * @throws IllegalStateException if a burst did not end in time (nothing more is closed then)
     */
    public static int closeAll(long timeoutMillis) {
        List<MbufArray> open;
        synchronized (OPEN) {
            open = new ArrayList<>(OPEN);
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        int closed = 0;
        for (MbufArray a : open) {
            while (!a.tryClose(true)) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("a packet batch stayed in a burst for " + timeoutMillis
                            + " ms; stop the threads using batches before closing EAL");
                }
                Thread.onSpinWait();
                Thread.yield();
            }
            closed++;
        }
        return closed;
    }

    @Override
    public String toString() {
        return "[" + count + "/" + capacity + (isOpen() ? "]" : ", closed]");
    }
}
