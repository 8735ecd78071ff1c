package io.jvhost.loop;

import io.jvhost.eal.Eal;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.vhost.VhostUserPort;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Polls the queues of several vhost-user ports from one thread or several, and calls a
 * {@link BurstHandler} per burst. Each thread owns a fixed set of (port, queue pair)s, may be
 * pinned to CPUs like a DPDK forwarding lcore ({@link Eal#pinCurrentThread}), and is registered as
 * an lcore while it runs. On each round a thread polls each of its queue pairs once: it follows
 * the port's {@link VhostUserPort#currentDevice() current device} (telling the handler when a
 * device is ready or gone: frontends that connect, leave and reconnect, in server or client mode,
 * are served without the application's help), dequeues a burst into the queue pair's batch when
 * that is empty, and calls the handler. After a round with nothing to do it waits as its
 * {@link IdleStrategy} says.
 *
 * <pre>{@code
 * try (EventLoop loop = EventLoop.builder(pool)
 *         .handler((device, queuePair, batch, received) -> {
 *             return device.enqueue(queuePair, batch); // loopback; what the guest did not take is retried
 *         })
 *         .thread(null, PortQueue.all(List.of(port0, port1)))
 *         .start()) {
 *     ...
 * }
 * }</pre>
 *
 * <p>A round allocates nothing on the Java heap (the handler's own work aside). {@link #close()}
 * stops every thread, waits for them, frees the packets left in the batches, and throws what a
 * handler threw, if it did.
 */
public final class EventLoop implements AutoCloseable {
    /** Default batch capacity: packets per burst. */
    public static final int DEFAULT_BURST = 32;

    final Eal eal;
    final MbufPool pool;
    final BurstHandler handler;
    final IdleStrategy idle;
    final boolean receive;
    volatile boolean running = true;
    private final List<PortQueue> queues;
    private final List<QueueSlot> slots = new ArrayList<>();
    private final List<LoopThread> threads = new ArrayList<>();
    private final AtomicReference<Failure> failure = new AtomicReference<>();
    private boolean closed; // guarded by this

    private record Failure(String thread, Throwable error) {
    }

    private EventLoop(Builder b, Eal eal) {
        this.eal = eal;
        this.pool = b.pool;
        this.handler = b.handler;
        this.idle = b.idle;
        this.receive = b.receive;
        List<PortQueue> all = new ArrayList<>();
        try {
            for (int t = 0; t < b.threads.size(); t++) {
                List<QueueSlot> own = new ArrayList<>();
                for (PortQueue q : b.threads.get(t).queues) {
                    QueueSlot s = new QueueSlot(q, b.burst);
                    own.add(s);
                    slots.add(s);
                    all.add(q);
                }
                String name = b.threads.size() == 1 ? b.threadName : b.threadName + "-" + t;
                threads.add(new LoopThread(this, name, b.threads.get(t).cpus, own));
            }
        } catch (RuntimeException e) {
            for (QueueSlot s : slots) {
                s.batch.close(); // the batches made before the failure (EAL closing meanwhile, say)
            }
            throw e;
        }
        this.queues = List.copyOf(all);
    }

    /**
     * @param pool where received packets' mbufs come from
     * @return a builder
     */
    public static Builder builder(MbufPool pool) {
        return new Builder(Objects.requireNonNull(pool, "pool"));
    }

    /** @return every queue pair the loop serves, thread by thread, in the order given */
    public List<PortQueue> queues() {
        return queues;
    }

    /** @return how many threads serve them */
    public int threadCount() {
        return threads.size();
    }

    /** @return the names of the threads, in the order they were added */
    public List<String> threadNames() {
        List<String> names = new ArrayList<>();
        for (LoopThread t : threads) {
            names.add(t.thread.getName());
        }
        return List.copyOf(names);
    }

    /** @return how the threads wait when there is nothing to do */
    public IdleStrategy idleStrategy() {
        return idle;
    }

    /** @return whether every thread is serving: false once stopped or after a handler's failure */
    public boolean isRunning() {
        if (!running) {
            return false;
        }
        for (LoopThread t : threads) {
            if (!t.thread.isAlive()) {
                return false;
            }
        }
        return true;
    }

    void fail(Thread thread, Throwable t) {
        failure.compareAndSet(null, new Failure(thread.getName(), t));
        running = false;
        for (LoopThread other : threads) {
            LockSupport.unpark(other.thread);
        }
    }

    boolean failed() {
        return failure.get() != null;
    }

    private void start() {
        for (LoopThread t : threads) {
            t.thread.start();
        }
        Throwable first = null;
        for (LoopThread t : threads) {
            Throwable e = t.awaitStart();
            if (first == null) {
                first = e;
            }
        }
        if (first != null) {
            try {
                close(); // the threads that started stop
            } catch (IllegalStateException handlerFailed) {
                first.addSuppressed(handlerFailed);
            }
            if (first instanceof Error e) {
                throw e;
            }
            throw (RuntimeException) first;
        }
    }

    /**
     * Stops every thread and waits for them, then frees the packets left in the batches.
     * Idempotent.
     *
     * @throws IllegalStateException if a handler threw (its exception is the cause); thrown by the
     *     first close only. Also if called on one of the loop's own threads (from a handler), which
     *     would wait for itself.
     */
    @Override
    public void close() {
        for (LoopThread t : threads) {
            if (t.thread == Thread.currentThread()) {
                throw new IllegalStateException("an event loop cannot be closed from its own thread " + t.thread.getName()
                        + ": it would wait for itself");
            }
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        running = false;
        boolean interrupted = false;
        for (LoopThread t : threads) {
            LockSupport.unpark(t.thread); // a parked thread sees the stop now, not at the end of its park
            while (t.thread.isAlive()) {
                try {
                    t.thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        for (QueueSlot s : slots) {
            s.batch.close();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Failure f = failure.get();
        if (f != null) {
            throw new IllegalStateException("loop thread " + f.thread() + " failed: " + f.error(), f.error());
        }
    }

    /** Builds and starts an {@link EventLoop}. */
    public static final class Builder {
        private final MbufPool pool;
        private BurstHandler handler;
        private IdleStrategy idle = IdleStrategy.adaptive();
        private boolean receive = true;
        private int burst = DEFAULT_BURST;
        private String threadName = "jvhost-loop";
        private final List<ThreadSpec> threads = new ArrayList<>();

        private record ThreadSpec(int[] cpus, List<PortQueue> queues) {
        }

        private Builder(MbufPool pool) {
            this.pool = pool;
        }

        /**
         * @param handler what to do with each burst (required)
         * @return this
         */
        public Builder handler(BurstHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * @param idle how threads wait after an empty round (default {@link IdleStrategy#adaptive()})
         * @return this
         */
        public Builder idle(IdleStrategy idle) {
            this.idle = Objects.requireNonNull(idle, "idle");
            return this;
        }

        /**
         * @param receive whether the loop dequeues from the guests (default true); false for a
         *     generator that only sends: the handler is then called on every round of every queue
         *     pair with a live device, with a batch that holds only what it left there
         * @return this
         */
        public Builder receive(boolean receive) {
            this.receive = receive;
            return this;
        }

        /**
         * @param packets batch capacity: the most packets dequeued per burst, 1 to
         *     {@link io.jvhost.mbuf.PacketBatch#MAX_CAPACITY} (default {@value #DEFAULT_BURST})
         * @return this
         */
        public Builder burst(int packets) {
            if (packets < 1 || packets > io.jvhost.mbuf.PacketBatch.MAX_CAPACITY) {
                throw new IllegalArgumentException("burst must be 1.." + io.jvhost.mbuf.PacketBatch.MAX_CAPACITY
                        + ": " + packets);
            }
            this.burst = packets;
            return this;
        }

        /**
         * @param name the thread's name if there is one thread; with several, thread i is named
         *     {@code name-i} (default {@code jvhost-loop})
         * @return this
         */
        public Builder threadName(String name) {
            this.threadName = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Adds a thread owning the given queue pairs.
         *
         * @param cpus CPUs to pin the thread to (see {@link Eal#pinCurrentThread}), or null to
         *     leave it unpinned
         * @param queues its queue pairs, at least one; no queue pair may belong to two threads (nor
         *     to two loops: each would get a part of its packets)
         * @return this
         */
        public Builder thread(int[] cpus, List<PortQueue> queues) {
            if (queues.isEmpty()) {
                throw new IllegalArgumentException("a loop thread needs at least one queue pair");
            }
            threads.add(new ThreadSpec(cpus == null ? null : cpus.clone(), List.copyOf(queues)));
            return this;
        }

        /**
         * Adds a thread owning the given queue pairs.
         *
         * @param cpus CPUs to pin the thread to, or null to leave it unpinned
         * @param queues its queue pairs, at least one
         * @return this
         */
        public Builder thread(int[] cpus, PortQueue... queues) {
            return thread(cpus, List.of(queues));
        }

        /**
         * Starts the threads; returns once each is pinned and registered as an lcore.
         *
         * @return the running loop
         * @throws IllegalStateException if EAL is not running, or no handler or thread was given
         * @throws IllegalArgumentException if a queue pair is given twice, or a thread cannot be
         *     pinned to its CPUs (no thread is left running then)
         */
        public EventLoop start() {
            if (handler == null) {
                throw new IllegalStateException("no handler given");
            }
            if (threads.isEmpty()) {
                throw new IllegalStateException("no thread given: add one with thread(cpus, queues)");
            }
            Set<PortQueue> seen = new HashSet<>();
            for (ThreadSpec t : threads) {
                for (PortQueue q : t.queues) {
                    if (!seen.add(q)) {
                        throw new IllegalArgumentException(q + " is given twice: a queue pair belongs to one thread");
                    }
                }
            }
            EventLoop loop = new EventLoop(this, Eal.require());
            loop.start();
            return loop;
        }
    }
}
