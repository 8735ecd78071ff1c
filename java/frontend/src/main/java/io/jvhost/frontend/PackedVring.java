package io.jvhost.frontend;

/** {@link Vring} view of a {@link PackedRing}. */
record PackedVring(PackedRing ring) implements Vring {
    @Override
    public int index() {
        return ring.index;
    }

    @Override
    public int size() {
        return ring.size;
    }

    @Override
    public long descGpa() {
        return ring.descGpa;
    }

    @Override
    public long descBytes() {
        return ring.descBytes();
    }

    @Override
    public long driverBytes() {
        return PackedRing.eventBytes();
    }

    @Override
    public long driverGpa() {
        return ring.driverEventGpa;
    }

    @Override
    public long deviceGpa() {
        return ring.deviceEventGpa;
    }

    @Override
    public long deviceBytes() {
        return PackedRing.eventBytes();
    }

    @Override
    public int initialBase() {
        return PackedRing.initialBase();
    }

    @Override
    public void askInterrupts() {
        ring.setDriverEventFlags(PackedRing.EVENT_FLAGS_ENABLE);
    }

    @Override
    public int[] usedElement(int pos) {
        return new int[] {ring.idAt(pos), ring.lenAt(pos)};
    }

    @Override
    public int usedConsumed() {
        return ring.usedCount();
    }
}
