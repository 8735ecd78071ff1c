package io.jvhost.internal;

/**
 * Where an exception from Java code that native code called (an upcall: DPDK's log, vhost device
 * callbacks) ends up: logged with its stack trace, never dropped. An upcall must not unwind into
 * DPDK, so whoever catches such an exception, in Java or in the JNI helper
 * {@code jvhost_upcall_failed}, hands it here.
 */
public final class Upcalls {
    private static final System.Logger LOG = System.getLogger(Upcalls.class.getName());

    private Upcalls() {
    }

    /**
     * Logs an exception an upcall threw, at ERROR with its stack trace. Never throws: if logging
     * fails too, both go to standard error.
     *
     * @param where the upcall, e.g. {@code "vhost new_device callback"}
     * @param thrown what it threw
     */
    public static void report(String where, Throwable thrown) {
        try {
            LOG.log(System.Logger.Level.ERROR, where + " threw; the exception was not passed on to DPDK", thrown);
        } catch (Throwable logFailure) {
            try {
                System.err.println("jvhost: " + where + " threw, and logging that failed too (" + logFailure + "):");
                thrown.printStackTrace();
            } catch (Throwable ignored) {
                // nowhere left to report to
            }
        }
    }
}
