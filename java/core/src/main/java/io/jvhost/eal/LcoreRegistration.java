package io.jvhost.eal;

import io.jvhost.internal.NativeEal;

/**
 * A Java thread registered with DPDK ({@code rte_thread_register}), which gave it an lcore id, so
 * that per-lcore state (mempool caches, lcore-indexed statistics) works for it. Made by
 * {@link Eal#registerThread()}.
 *
 * <p>Release it with {@link #close()} on the same thread. A thread that ends without doing so is
 * unregistered automatically when it exits, so no lcore id leaks. Closing after the EAL was closed
 * does nothing.
 */
public final class LcoreRegistration implements AutoCloseable {
    private final Eal eal;
    private final Thread thread;
    private final int lcoreId;
    private boolean closed;

    LcoreRegistration(Eal eal, Thread thread, int lcoreId) {
        this.eal = eal;
        this.thread = thread;
        this.lcoreId = lcoreId;
    }

    /** @return the lcore id DPDK gave the thread */
    public int lcoreId() {
        return lcoreId;
    }

    /** @return the registered thread */
    public Thread thread() {
        return thread;
    }

    /**
     * Unregisters the thread ({@code rte_thread_unregister}); idempotent.
     *
     * @throws IllegalStateException if called from another thread than the registered one
     */
    @Override
    public void close() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("lcore " + lcoreId + " belongs to thread '" + thread.getName()
                    + "'; close its registration on that thread");
        }
        if (closed) {
            return;
        }
        closed = true;
        synchronized (Eal.class) {
            if (eal.isOpen()) {
                NativeEal.threadUnregister();
            }
        }
    }

    @Override
    public String toString() {
        return "LcoreRegistration[lcore " + lcoreId + ", thread '" + thread.getName() + "'" + (closed ? ", closed]" : "]");
    }
}
