package io.jvhost.internal;

/** Natives of the EAL lifecycle; the policy around them lives in {@link io.jvhost.eal.Eal}. */
public final class NativeEal {
    private NativeEal() {
    }

    /** @return rte_errno of the calling thread, as the last DPDK call left it */
    public static native int rteErrno();

    /** @return rte_version() */
    public static native String dpdkVersion();

    /**
     * @param args argv, with argv[0]
     * @return what rte_eal_init returned (or -rte_errno), and what EAL printed meanwhile
     */
    public static native EalInitResult init(String[] args);

    /** @return 0, or -rte_errno */
    public static native int cleanup();

    /** @return rte_strerror(errnum) */
    public static native String strerror(int errnum);

    /** @return the CPUs the calling thread may run on */
    public static native int[] affinity();

    /** @return 0 or -errno */
    public static native int setAffinity(int[] cpus);

    /** @return the lcore id given to the calling thread, or -rte_errno */
    public static native int threadRegister();

    /** rte_thread_unregister() for the calling thread. */
    public static native void threadUnregister();

    /** @return the calling thread's lcore id, -1 for none */
    public static native int lcoreId();

    /** @return rte_lcore_count() */
    public static native int lcoreCount();

    /** @return rte_get_main_lcore() */
    public static native int mainLcore();
}
