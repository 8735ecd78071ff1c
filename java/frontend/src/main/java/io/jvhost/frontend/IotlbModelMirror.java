package io.jvhost.frontend;

import io.jvhost.iotlb.IotlbDevice;
import io.jvhost.iotlb.RteRandom;
import io.jvhost.protocol.Access;
import io.jvhost.protocol.VhostIotlbMsg;
import io.jvhost.vhost.VhostDevice;

/**
 * The bit-exact Java model of DPDK's IOTLB ({@link IotlbDevice}) kept in step with a live jvhost
 * device: it starts from the device's memory table and is fed the UPDATE and INVALIDATE messages
 * the frontend's virtual IOMMU sends, so that it answers every translation as DPDK's own
 * {@code vhost_iova_to_vva} on that device does. Used by {@code jvhost demo} and the tests.
 */
public final class IotlbModelMirror {
    private final IotlbDevice model;
    private final VirtualIommu iommu;
    private long fed;

    private IotlbModelMirror(IotlbDevice model, VirtualIommu iommu, long fromSeq) {
        this.model = model;
        this.iommu = iommu;
        this.fed = fromSeq;
    }

    /**
     * Starts a model of {@code device}'s vrings; messages the frontend logged before now are not fed.
     *
     * @param device the live jvhost device
     * @param iommu the frontend's virtual IOMMU
     * @return the mirror
     */
    public static IotlbModelMirror of(VhostDevice device, VirtualIommu iommu) {
        IotlbDevice model = IotlbDevice.exact(device.vringCount(), new RteRandom(1), 0);
        model.setMemTable(device.memoryRegions());
        return new IotlbModelMirror(model, iommu, iommu.log().nextSeq());
    }

    /** @return the model */
    public IotlbDevice model() {
        return model;
    }

    /** @return the sequence number of the next log event the mirror has not fed yet */
    public long fedUpTo() {
        return fed;
    }

    /**
     * Feeds the UPDATE and INVALIDATE messages logged since the last call to the model.
     *
     * @return whether every UPDATE was applied (the model's own acceptance, as DPDK's reply)
     */
    public boolean feed() {
        boolean allApplied = true;
        for (IotlbLog.Event e : iommu.log().since(fed)) {
            if (e.type() == IotlbLog.Type.UPDATE) {
                allApplied &= model.iotlbMsg(VhostIotlbMsg.update(e.iova(), e.size(), e.uaddr(), Access.ofWire(e.perm())));
            } else if (e.type() == IotlbLog.Type.INVALIDATE) {
                // QEMU's INVALIDATEs carry garbage in uaddr and perm: only iova and size count
                model.iotlbMsg(VhostIotlbMsg.invalidate(e.iova(), e.size()));
            }
            fed = e.seq() + 1;
        }
        return allApplied;
    }
}
