package io.jvhost.loop;

import io.jvhost.eal.Eal;
import io.jvhost.eal.LcoreRegistration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** One thread of an {@link EventLoop}: pinned, registered as an lcore, polling its queues. */
final class LoopThread {
    private final EventLoop loop;
    private final QueueSlot[] slots;
    private final int[] cpus;
    final Thread thread;
    private final CountDownLatch started = new CountDownLatch(1);
    /** Why it could not start (pinning, lcore registration); read after {@link #awaitStart()}. */
    private volatile Throwable startFailure;

    LoopThread(EventLoop loop, String name, int[] cpus, List<QueueSlot> slots) {
        this.loop = loop;
        this.cpus = cpus == null ? null : cpus.clone();
        this.slots = slots.toArray(new QueueSlot[0]);
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
    }

    /** @return why the thread could not start, or null once it runs */
    Throwable awaitStart() {
        boolean interrupted = false;
        while (true) {
            try {
                started.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return startFailure;
    }

    private void run() {
        LcoreRegistration lcore;
        try {
            if (cpus != null) {
                Eal.pinCurrentThread(cpus);
            }
            lcore = loop.eal.registerThread(); // DPDK's per-lcore mempool caches, as a forwarding lcore has
        } catch (RuntimeException | Error e) {
            startFailure = e;
            return;
        } finally {
            started.countDown();
        }
        try {
            serve();
        } catch (Throwable t) {
            loop.fail(thread, t);
        } finally {
            lcore.close();
        }
    }

    private void serve() {
        BurstHandler handler = loop.handler;
        Idler idler = new Idler(loop.idle);
        boolean receive = loop.receive;
        QueueSlot[] slots = this.slots;
        while (loop.running) {
            int work = 0;
            for (QueueSlot s : slots) {
                work += s.poll(handler, loop.pool, receive);
            }
            idler.idle(work);
        }
        if (!loop.failed()) {
            for (QueueSlot s : slots) {
                handler.stopped(s.port, s.queuePair, s.batch);
            }
        }
    }
}
