package io.jvhost.vhost;

/**
 * One region of a device's memory table (what the frontend sent with SET_MEM_TABLE).
 *
 * @param guestPhysicalAddress where the region starts in guest physical memory
 * @param frontendAddress where it starts in the frontend's (QEMU's) address space
 * @param backendAddress where it is mapped in this process
 * @param size its size in bytes
 * @param mmapSize how much this process mapped for it (alignment included)
 */
public record MemoryRegion(long guestPhysicalAddress, long frontendAddress, long backendAddress, long size, long mmapSize) {
}
