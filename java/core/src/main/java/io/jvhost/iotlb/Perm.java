package io.jvhost.iotlb;

/**
 * Access permissions of IOTLB entries and lookups, as in {@code struct vhost_iotlb_msg}'s
 * {@code perm} ({@code VHOST_ACCESS_*}).
 */
public final class Perm {
    /** Read only ({@code VHOST_ACCESS_RO}). */
    public static final int RO = 1;
    /** Write only ({@code VHOST_ACCESS_WO}). */
    public static final int WO = 2;
    /** Read and write ({@code VHOST_ACCESS_RW}). */
    public static final int RW = 3;

    private Perm() {
    }

    /**
     * @param perm a permission
     * @return it, if it is {@link #RO}, {@link #WO} or {@link #RW}
     * @throws IllegalArgumentException otherwise
     */
    public static int check(int perm) {
        if (perm < RO || perm > RW) {
            throw new IllegalArgumentException("perm must be 1 (RO), 2 (WO) or 3 (RW), not " + perm);
        }
        return perm;
    }

    /**
     * @param perm a permission
     * @return "RO", "WO" or "RW"
     */
    public static String name(int perm) {
        switch (perm) {
            case RO:
                return "RO";
            case WO:
                return "WO";
            case RW:
                return "RW";
            default:
                return "perm(" + perm + ")";
        }
    }
}
