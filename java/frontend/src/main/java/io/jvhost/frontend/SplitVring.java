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
}
