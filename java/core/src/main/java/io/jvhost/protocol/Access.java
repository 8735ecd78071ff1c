package io.jvhost.protocol;

import java.util.Objects;

/**
 * An access permission: what an IOTLB entry grants and what a translation asks for, with the wire
 * values of {@code struct vhost_iotlb_msg}'s {@code perm} ({@code VHOST_ACCESS_*} in DPDK's
 * {@code vhost.h}, rust-vmm's {@code VhostAccess}). The values are bit sets: bit 0 read, bit 1
 * write.
 */
public enum Access {
    /** No access (0): what an INVALIDATE carries; never granted nor asked for. */
    NONE(0),
    /** Read only ({@code VHOST_ACCESS_RO}, 1). */
    RO(1),
    /** Write only ({@code VHOST_ACCESS_WO}, 2). */
    WO(2),
    /** Read and write ({@code VHOST_ACCESS_RW}, 3). */
    RW(3);

    private static final Access[] BY_WIRE = values();

    private final int wire;

    Access(int wire) {
        this.wire = wire;
    }

    /** @return the wire value: 0, 1, 2 or 3 */
    public int wire() {
        return wire;
    }

    /**
     * @param wire a wire value
     * @return the access it stands for
     * @throws IllegalArgumentException unless it is 0 to 3
     */
    public static Access ofWire(int wire) {
        if (wire < 0 || wire >= BY_WIRE.length) {
            throw new IllegalArgumentException("an access is 0 (NONE), 1 (RO), 2 (WO) or 3 (RW), not " + wire);
        }
        return BY_WIRE[wire];
    }

    /**
     * @param wire a wire value, perhaps one the protocol does not define
     * @return the access's name, e.g. {@code RW}, or {@code perm(<n>)}
     */
    public static String nameOf(int wire) {
        return wire >= 0 && wire < BY_WIRE.length ? BY_WIRE[wire].name() : "perm(" + wire + ")";
    }

    /**
     * For the operations of an IOTLB, which take RO, WO or RW only.
     *
     * @param access an access
     * @return {@code access}
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if it is {@link #NONE}
     */
    public static Access requireSome(Access access) {
        Objects.requireNonNull(access, "access");
        if (access == NONE) {
            throw new IllegalArgumentException("access must be RO, WO or RW, not NONE");
        }
        return access;
    }

    /**
     * DPDK's test {@code (granted & needed) == needed}.
     *
     * @param needed the access asked for
     * @return whether this access grants all of it
     */
    public boolean allows(Access needed) {
        return (wire & needed.wire) == needed.wire;
    }

    /** @return whether this access includes reading */
    public boolean canRead() {
        return (wire & RO.wire) != 0;
    }

    /** @return whether this access includes writing */
    public boolean canWrite() {
        return (wire & WO.wire) != 0;
    }
}
