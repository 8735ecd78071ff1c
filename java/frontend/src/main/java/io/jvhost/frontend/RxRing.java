package io.jvhost.frontend;

import java.nio.ByteBuffer;

/** A receive queue over a split or a packed vring. */
interface RxRing {
    /** @return the vring */
    Vring vring();

    /** @return where the vring and its buffers are */
    VringLayout layout();

    /** @return the length of the next complete received frame (without header), or -1 */
    int peek();

    /** Copies the frame {@link #peek()} measured out and gives its buffers back to the device. */
    void take(ByteBuffer dstBuf, byte[] dstArr, int dstOff);

    /** @return the head descriptor (buffer id) the device will write the next frame to */
    int nextHead();

    /** @return GPA of descriptor (buffer) {@code id} */
    long descGpa(int id);

    /** @return bytes of descriptor (buffer) {@code id} */
    int descLen(int id);

    /** @return descriptors per receive buffer */
    int chainLen();
}
