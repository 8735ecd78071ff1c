package io.jvhost.internal;

import java.util.Objects;

/**
 * How jvhost's own resources (ports, pools, IOTLB handles) put themselves in the care of the
 * running EAL, so that its close() closes them before DPDK's memory goes away. Not through
 * {@code Eal.own}/{@code Eal.disown}, which are for an application's resources: an application
 * could disown a jvhost resource there and then use it after EAL cleanup. The EAL class registers
 * its implementation when it is initialized (an Eal exists before any resource is made on it);
 * typed on Object so that this package does not depend on the public ones.
 */
public final class EalOwnership {
    /** What the EAL class implements. */
    public interface Owner {
        /**
         * @param eal the Eal
         * @param resource a jvhost resource made on it
         * @throws IllegalStateException if EAL is closed or closing
         */
        void own(Object eal, AutoCloseable resource);

        /**
         * @param eal the Eal
         * @param resource a jvhost resource closing itself
         */
        void disown(Object eal, AutoCloseable resource);
    }

    private static volatile Owner owner;

    private EalOwnership() {
    }

    /** @param o the EAL class's implementation, set once */
    public static void register(Owner o) {
        owner = o;
    }

    /**
     * @param eal the Eal the resource is made on
     * @param resource the resource
     * @param <T> its type
     * @return the resource
     */
    public static <T extends AutoCloseable> T own(Object eal, T resource) {
        owner.own(Objects.requireNonNull(eal, "eal"), Objects.requireNonNull(resource, "resource"));
        return resource;
    }

    /**
     * @param eal the Eal the resource was made on
     * @param resource the resource, closing
     */
    public static void disown(Object eal, AutoCloseable resource) {
        owner.disown(eal, resource);
    }
}
