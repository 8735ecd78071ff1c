package io.jvhost.frontend;

/**
 * What the device's set-up needs of one vring, split or packed: its three areas for
 * SET_VRING_ADDR, its SET_VRING_BASE value, and the page QEMU pre-sends with the IOMMU; and, for
 * tests, the used elements the device wrote.
 */
interface Vring {
    /** @return vring index (2q receive, 2q+1 transmit) */
    int index();

    /** @return descriptors in the ring */
    int size();

    /** @return GPA of the descriptor table (split) or ring (packed) */
    long descGpa();

    /** @return bytes of the area at {@link #descGpa()} */
    long descBytes();

    /** @return GPA of the avail ring (split) or driver event suppression area (packed) */
    long driverGpa();

    /** @return bytes of the area at {@link #driverGpa()} */
    long driverBytes();

    /** @return GPA of the used ring (split) or device event suppression area (packed) */
    long deviceGpa();

    /** @return bytes of the area at {@link #deviceGpa()} */
    long deviceBytes();

    /** @return the SET_VRING_BASE value before any traffic */
    int initialBase();

    /** Asks the device for interrupts on this vring (used with real call descriptors). */
    void askInterrupts();

    /** @return {id, len} of the used element at free-running position {@code pos} (while still in the ring) */
    int[] usedElement(int pos);

    /** @return used elements consumed so far (free running) */
    int usedConsumed();
}
