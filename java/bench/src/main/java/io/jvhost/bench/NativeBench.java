package io.jvhost.bench;

/** The data-path benchmark's loop in C (native/bench.c): the yardstick for the Java loop. */
public final class NativeBench {
    private NativeBench() {
    }

    /**
     * @return packets dequeued over the iterations, or a negative error
     * @see io.jvhost.vhost.VhostDevice
     */
    public static native long loop(int vid, int guestPort, long pool, int burst, long iterations);
}
