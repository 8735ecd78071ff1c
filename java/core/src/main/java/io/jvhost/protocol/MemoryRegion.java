package io.jvhost.protocol;

/**
 * One region of a device's memory table: what the frontend sent with
 * {@link FrontendRequest#SET_MEM_TABLE} ({@code VhostUserMemoryRegion}) and where the backend
 * mapped it ({@code struct rte_vhost_mem_region}). Addresses and sizes are unsigned 64-bit numbers;
 * {@link #holdsGuestPhysical} and {@link #holdsFrontend} test as DPDK does, with the region's end
 * computed modulo 2^64.
 *
 * @param guestPhysicalAddress where the region starts in guest physical memory
 *     ({@code guest_phys_addr})
 * @param frontendAddress where it starts in the frontend's (QEMU's) address space
 *     ({@code userspace_addr} on the wire, DPDK's {@code guest_user_addr})
 * @param backendAddress where it is mapped in this process ({@code host_user_addr})
 * @param size its size in bytes ({@code memory_size})
 * @param mmapSize how much this process mapped for it, alignment included ({@code mmap_size}); 0
 *     where it is not known
 */
public record MemoryRegion(long guestPhysicalAddress, long frontendAddress, long backendAddress, long size,
        long mmapSize) {
    /** {@code VHOST_MEMORY_MAX_NREGIONS}: the most regions one SET_MEM_TABLE carries. */
    public static final int MAX_REGIONS = 8;
    /** The bytes of one region in a SET_MEM_TABLE payload: four u64. */
    public static final int WIRE_BYTES = 32;

    /**
     * @param guestPhysicalAddress where the region starts in guest physical memory
     * @param frontendAddress where it starts in the frontend's address space
     * @param backendAddress where it is mapped in this process
     * @param size its size in bytes
     * @param mmapSize how much this process mapped for it; 0 where it is not known
     * @throws IllegalArgumentException if {@code mmapSize} is neither 0 nor at least {@code size}
     */
    public MemoryRegion {
        if (mmapSize != 0 && Long.compareUnsigned(mmapSize, size) < 0) {
            throw new IllegalArgumentException("a region of " + Wire.hex(size) + " bytes cannot be mapped in "
                    + Wire.hex(mmapSize));
        }
    }

    /**
     * @param address a guest physical address
     * @return whether the region holds it
     */
    public boolean holdsGuestPhysical(long address) {
        return holds(guestPhysicalAddress, address);
    }

    /**
     * @param address an address in the frontend's address space
     * @return whether the region holds it
     */
    public boolean holdsFrontend(long address) {
        return holds(frontendAddress, address);
    }

    // DPDK's test (qva_to_vva, gpa_to_vva): start <= address < start + size, the sum wrapping at 2^64
    private boolean holds(long start, long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, start + size) < 0;
    }

    /**
     * Whether two tables differ as DPDK's {@code vhost_memory_changed} sees it: only the guest
     * physical address, the size and the frontend's address count.
     *
     * @param other another region
     * @return whether the frontend describes the same region
     */
    public boolean sameAsSent(MemoryRegion other) {
        return guestPhysicalAddress == other.guestPhysicalAddress && size == other.size
                && frontendAddress == other.frontendAddress;
    }
}
