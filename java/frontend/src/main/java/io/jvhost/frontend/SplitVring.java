package io.jvhost.frontend;

/** {@link Vring} view of a {@link SplitVirtqueue}. */
record SplitVring(SplitVirtqueue vq) implements Vring {
    @Override
    public int index() {
        return vq.index;
    }

    @Override
    public int size() {
        return vq.size;
    }

    @Override
    public long descGpa() {
        return vq.descGpa;
    }

    @Override
    public long descBytes() {
        return vq.descBytes();
    }

    @Override
    public long driverBytes() {
        return vq.availBytes();
    }

    @Override
    public long driverGpa() {
        return vq.availGpa;
    }

    @Override
    public long deviceGpa() {
        return vq.usedGpa;
    }

    @Override
    public long deviceBytes() {
        return vq.usedBytes();
    }

    @Override
    public int initialBase() {
        return 0;
    }

    @Override
    public void askInterrupts() {
        vq.setAvailFlags(0);
    }

    @Override
    public int[] usedElement(int pos) {
        return new int[] {vq.usedIdAt(pos), vq.usedLenAt(pos)};
    }

    @Override
    public int usedConsumed() {
        return vq.lastUsed();
    }
}
