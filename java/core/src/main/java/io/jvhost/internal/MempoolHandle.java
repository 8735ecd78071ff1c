package io.jvhost.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The native half of an mbuf pool: the {@code rte_mempool *} and a count of the native calls using
 * it right now, so that it is never freed under a burst and never used after it was freed.
 */
public final class MempoolHandle {
    private static final int CLOSED = Integer.MIN_VALUE;
    // Weak: a pool dropped without close() must not be kept alive by this set.
    private static final Set<MempoolHandle> OPEN = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    private final String name;
    private final long address;
    private final AtomicInteger users = new AtomicInteger();
    private volatile boolean leftToEal;

    /**
     * @param name the pool's name, for messages
     * @param address a live {@code rte_mempool *}, from {@link NativeMbuf#poolCreate}
     */
    public MempoolHandle(String name, long address) {
        this.name = name;
        this.address = address;
        OPEN.add(this);
    }

    /**
     * Begins a native call on the pool; {@link #release()} ends it.
     *
     * @return the {@code rte_mempool *}, valid until {@link #release()}
     * @throws IllegalStateException if it is closed
     */
    public long acquire() {
        while (true) {
            int u = users.get();
            if (u < 0) {
                throw new IllegalStateException("mbuf pool " + name + " is closed" + (leftToEal ? " (by Eal.close())" : ""));
            }
            if (users.compareAndSet(u, u + 1)) {
                return address;
            }
        }
    }

    /** Ends a call begun with {@link #acquire()}. */
    public void release() {
        users.decrementAndGet();
    }

    /** @return whether it is open */
    public boolean isOpen() {
        return users.get() >= 0;
    }

    /**
     * Frees the pool if no call uses it and no mbuf of it is out; idempotent.
     *
     * @throws IllegalStateException if it is in use, or mbufs are still out
     */
    public synchronized void close() {
        if (users.get() == CLOSED) {
            return;
        }
        if (!users.compareAndSet(0, CLOSED)) {
            throw new IllegalStateException("mbuf pool " + name + " is in use by " + users.get()
                    + " port(s) or burst(s): close the ports receiving into it first");
        }
        int used = NativeMbuf.poolInUse(address);
        if (used > 0) {
            users.set(0);
            throw new IllegalStateException("mbuf pool " + name + " still has " + used
                    + " mbufs in use: close the batches and ports holding them first");
        }
        NativeMbuf.poolFree(address);
        OPEN.remove(this);
    }

    /**
     * For EAL shutdown, after the pools' own close: marks every pool still open closed without
     * freeing it (its memory goes with EAL's), waiting up to {@code timeoutMillis} for calls in
     * flight. A pool still open here had mbufs out that nothing can reach any more.
     *
     * @throws IllegalStateException if a call on a pool did not end in time
     */
    public static void closeAllForEal(long timeoutMillis) {
        List<MempoolHandle> open;
        synchronized (OPEN) {
            open = new ArrayList<>(OPEN);
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        for (MempoolHandle h : open) {
            while (true) {
                int u = h.users.get();
                if (u == CLOSED) {
                    break;
                }
                if (u == 0 && h.users.compareAndSet(0, CLOSED)) {
                    h.leftToEal = true;
                    OPEN.remove(h);
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("mbuf pool " + h.name + " stayed in use for " + timeoutMillis
                            + " ms; stop the threads using it before closing EAL");
                }
                Thread.onSpinWait();
                Thread.yield();
            }
        }
    }
}
