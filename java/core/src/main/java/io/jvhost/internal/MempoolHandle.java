package io.jvhost.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The native half of an mbuf pool: the {@code rte_mempool *} and a count of the native calls using
 * it right now, so that it is never freed under a burst and never used after it was freed.
 */
public final class MempoolHandle {
    private static final int CLOSED = Integer.MIN_VALUE;

    private final String name;
    private final long address;
    private final AtomicInteger users = new AtomicInteger();

    /**
     * @param name the pool's name, for messages
     * @param address a live {@code rte_mempool *}, from {@link NativeMbuf#poolCreate}
     */
    public MempoolHandle(String name, long address) {
        this.name = name;
        this.address = address;
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
                throw new IllegalStateException("mbuf pool " + name + " is closed");
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
    }
}
