package io.jvhost.frontend;

/** A transmit queue over a split or a packed vring: one slot (header + frame) per buffer. */
interface TxRing {
    /** @return the vring */
    Vring vring();

    /** @return where the vring and its buffers are */
    VringLayout layout();

    /** @return the GPA of slot {@code id} */
    long slotGpa(int id);

    /** Takes a free slot and zeroes its virtio-net header; -1 if the ring is full. */
    int take();

    /** Makes slot {@code id}, with a frame of {@code len} bytes after its header, available; kicks if asked. */
    void publish(int id, int len, VringNotifier notifier);

    /** @return slots handed to the device and not used yet */
    int inFlight();

    /** {id, len} of the used element at free-running position {@code pos} (while still in the ring). */
    int[] usedElement(int pos);

    /** @return used elements consumed so far (free running) */
    int usedConsumed();
}
