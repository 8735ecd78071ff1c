package io.jvhost.iotlb;

import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.vhost.VhostDevice;
import java.util.Objects;

/**
 * The bit-exact Java model of DPDK's IOTLB ({@link IotlbDevice}) kept in step with a live jvhost
 * device: it starts from the device's memory table and is given the UPDATE and INVALIDATE messages
 * the device's frontend sends, so that it answers every translation as DPDK's own
 * {@code vhost_iova_to_vva} on that device does ({@link VhostDevice#iovaToVva}). Whoever sees the
 * frontend's messages feeds them: jvhost's own frontend logs them ({@code IotlbLog.replay}), a
 * QEMU guest's would come from a capture. Used by {@code jvhost demo} and the tests.
 */
public final class IotlbModelMirror {
    private final IotlbDevice model;

    private IotlbModelMirror(IotlbDevice model) {
        this.model = model;
    }

    /**
     * @param device the live jvhost device whose vrings and memory table the model copies
     * @return a mirror whose model has seen no IOTLB message yet
     */
    public static IotlbModelMirror of(VhostDevice device) {
        Objects.requireNonNull(device, "device");
        IotlbDevice model = IotlbDevice.exact(device.vringCount(), new RteRandom(1), 0);
        model.setMemTable(device.memoryRegions());
        return new IotlbModelMirror(model);
    }

    /** @return the model */
    public IotlbDevice model() {
        return model;
    }

    /**
     * Gives the model one message the frontend sent. An INVALIDATE counts by its iova and size
     * only: QEMU's carry garbage in uaddr and perm. Other types (MISS, ACCESS_FAIL) go from the
     * backend to the frontend and are ignored.
     *
     * @param message the message
     * @return whether the model accepted it (for an UPDATE, what DPDK's reply says); true otherwise
     */
    public boolean apply(VhostIotlbMsg message) {
        Objects.requireNonNull(message, "message");
        if (message.type() == IotlbType.UPDATE.wire()) {
            return model.iotlbMsg(message);
        }
        if (message.type() == IotlbType.INVALIDATE.wire()) {
            model.iotlbMsg(VhostIotlbMsg.invalidate(message.iova(), message.size()));
        }
        return true;
    }
}
