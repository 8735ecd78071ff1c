package io.jvhost.frontend;

/**
 * Where one vring and its buffers live: device addresses (IOVAs with the IOMMU on, else the
 * addresses the backend is given: userspace addresses for rings, GPAs for buffers) and GPAs. For a
 * packed vring the "avail" and "used" addresses are those of the driver and device event
 * suppression areas (what SET_VRING_ADDR carries in their place).
 *
 * @param index vring index (2q receive, 2q+1 transmit of queue pair q)
 * @param size ring size
 * @param descAddr device address of the descriptor table
 * @param availAddr device address of the available ring
 * @param usedAddr device address of the used ring
 * @param descGpa GPA of the descriptor table
 * @param availGpa GPA of the available ring
 * @param usedGpa GPA of the used ring
 * @param bufferAddr device address of the first byte of this vring's buffers
 * @param bufferGpa GPA of the first byte of this vring's buffers
 * @param bufferBytes bytes from the first to one past the last buffer byte
 */
public record VringLayout(int index, int size, long descAddr, long availAddr, long usedAddr, long descGpa,
        long availGpa, long usedGpa, long bufferAddr, long bufferGpa, long bufferBytes) {
}
