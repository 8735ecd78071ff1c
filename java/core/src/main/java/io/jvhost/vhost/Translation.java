package io.jvhost.vhost;

/**
 * The result of an address translation on a live device.
 *
 * @param address the backend virtual address (VVA), 0 on a miss
 * @param length how many bytes from it are mapped contiguously (at most the length asked for);
 *     0 on a miss
 */
public record Translation(long address, long length) {
    /** @return whether nothing was mapped (an IOTLB miss, or an address outside guest memory) */
    public boolean isMiss() {
        return address == 0;
    }
}
