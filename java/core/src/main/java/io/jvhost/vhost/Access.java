package io.jvhost.vhost;

/** Access a translation asks for: DPDK's VHOST_ACCESS_RO / WO / RW (the IOTLB's perm). */
public enum Access {
    /** Read only (1). */
    READ(1),
    /** Write only (2). */
    WRITE(2),
    /** Read and write (3). */
    READ_WRITE(3);

    private final int perm;

    Access(int perm) {
        this.perm = perm;
    }

    /** @return DPDK's perm value */
    public int perm() {
        return perm;
    }
}
