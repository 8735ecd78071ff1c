package io.jvhost.protocol;

/**
 * The {@code type} of a {@code struct vhost_iotlb_msg} ({@code VHOST_IOTLB_*} in DPDK's
 * {@code vhost.h} and linux/vhost_types.h, rust-vmm's {@code VhostIotlbType}).
 */
public enum IotlbType {
    /** The backend misses a translation (backend to frontend, 1). */
    MISS(1),
    /** A translation for the backend's IOTLB (frontend to backend, 2). */
    UPDATE(2),
    /** Drop the translations of a range (frontend to backend, 3). */
    INVALIDATE(3),
    /** The backend was refused access (backend to frontend, 4). */
    ACCESS_FAIL(4);

    private final int wire;

    IotlbType(int wire) {
        this.wire = wire;
    }

    /** @return the wire value */
    public int wire() {
        return wire;
    }

    /**
     * @param wire a wire value
     * @return the type it stands for
     * @throws IllegalArgumentException unless it is 1 to 4
     */
    public static IotlbType ofWire(int wire) {
        IotlbType t = Codes.find(values(), IotlbType::wire, wire);
        if (t != null) {
            return t;
        }
        throw new IllegalArgumentException("an IOTLB message type is 1 (MISS), 2 (UPDATE), 3 (INVALIDATE) or 4"
                + " (ACCESS_FAIL), not " + wire);
    }

    /**
     * @param wire a wire value, perhaps one the protocol does not define
     * @return the type's name, e.g. {@code UPDATE}, or {@code type(<n>)}
     */
    public static String nameOf(int wire) {
        IotlbType t = Codes.find(values(), IotlbType::wire, wire);
        return t == null ? "type(" + wire + ")" : t.name();
    }
}
