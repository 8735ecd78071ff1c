package io.jvhost.iotlb;

import io.jvhost.protocol.Access;
import io.jvhost.protocol.IotlbType;
import io.jvhost.protocol.MemoryRegion;
import io.jvhost.protocol.VhostIotlbMsg;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The message level of DPDK 22.11's IOTLB (lib/vhost/vhost_user.c) in Java: a device with a
 * memory table and virtqueues, each with an {@link Iotlb}, that applies the vhost-user messages
 * touching the IOTLB the way DPDK does.
 *
 * <ul>
 *   <li>{@code VHOST_USER_IOTLB_MSG} UPDATE ({@link #iotlbMsg}): the frontend's address
 *       {@code uaddr} (a QEMU virtual address) is translated through the memory table
 *       ({@code qva_to_vva}); the length is cut at the end of the region holding {@code uaddr}; an
 *       address in no region fails the message. The entry is inserted into every virtqueue's
 *       cache.</li>
 *   <li>INVALIDATE: {@code vhost_user_iotlb_cache_remove(iova, size)} on every virtqueue; uaddr and
 *       perm are not used.</li>
 *   <li>{@code VHOST_USER_SET_MEM_TABLE} ({@link #setMemTable}): when the table really changes
 *       (number of regions, or a region's guest physical address, size or QEMU address) and
 *       VIRTIO_F_IOMMU_PLATFORM is negotiated, every virtqueue's IOTLB is flushed (cache and
 *       pending). A table equal to the current one changes nothing and flushes nothing.</li>
 *   <li>{@code VHOST_USER_GET_VRING_BASE} ({@link #getVringBase}): flushes that virtqueue's IOTLB,
 *       whatever the features.</li>
 *   <li>The data path's {@code vhost_iova_to_vva} ({@link #iovaToVva}): with
 *       VIRTIO_F_IOMMU_PLATFORM, the IOTLB lookup of {@link Iotlb#iovaToVva} (which sends a MISS);
 *       without, a guest physical address translated through the memory table
 *       ({@code rte_vhost_va_from_guest_pa}).</li>
 * </ul>
 *
 * <p>Not modelled: the ring address translation DPDK also does when an UPDATE or INVALIDATE
 * touches a virtqueue's rings ({@code translate_ring_addresses}, {@code vring_invalidate}), which
 * can send MISS messages of its own: this model has no rings. Permissions of UPDATE messages must
 * be 1..3 here (DPDK takes any byte). {@link NativeVhostDevice} is DPDK's own message level, which
 * the tests compare this model with. Not thread-safe.
 */
public final class IotlbDevice {
    private final List<Iotlb> queues;
    private final boolean iommuPlatform;
    private List<MemoryRegion> mem;

    /**
     * @param queues the virtqueues' IOTLBs (e.g. {@link IotlbCache}s sharing one
     *     {@link BackendChannel} and one {@link RteRandom} state, or a {@link NativeIotlb}'s queues)
     * @param iommuPlatform whether VIRTIO_F_IOMMU_PLATFORM was negotiated
     */
    public IotlbDevice(List<? extends Iotlb> queues, boolean iommuPlatform) {
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("a device needs at least one queue");
        }
        this.queues = List.copyOf(queues);
        this.iommuPlatform = iommuPlatform;
    }

    /**
     * A device of bit-exact {@link IotlbCache}s with DPDK's pool size that share one channel and
     * draw evictions from one {@code rte_rand()} state, as a DPDK device's queues do when one lcore
     * handles its messages.
     *
     * @param queues number of virtqueues
     * @param random the generator
     * @param randState the state index (the lcore of the thread handling vhost-user messages)
     * @return the device, with VIRTIO_F_IOMMU_PLATFORM negotiated
     */
    public static IotlbDevice exact(int queues, RteRandom random, int randState) {
        if (queues < 1 || queues > 256) { // DPDK's VHOST_MAX_VRING
            throw new IllegalArgumentException("queues must be 1..256, not " + queues);
        }
        BackendChannel channel = new BackendChannel();
        List<Iotlb> list = new ArrayList<>();
        for (int i = 0; i < queues; i++) {
            list.add(new IotlbCache(Iotlb.DPDK_POOL_SIZE, random.forState(randState), channel));
        }
        return new IotlbDevice(list, true);
    }

    /**
     * @param vq index
     * @return that virtqueue's IOTLB
     */
    public Iotlb queue(int vq) {
        return queues.get(vq);
    }

    /** @return the number of virtqueues */
    public int queueCount() {
        return queues.size();
    }

    /** @return the memory table, empty before the first {@link #setMemTable} */
    public List<MemoryRegion> memTable() {
        return mem == null ? List.of() : mem;
    }

    /**
     * {@code qva_to_vva}: a QEMU virtual address to the backend's, through the memory table.
     *
     * @param qva QEMU's address
     * @param len in: length; out: cut at the end of the region, 0 when no region holds {@code qva}
     * @return the backend's address, 0 if no region holds {@code qva}
     */
    public long qvaToVva(long qva, long[] len) {
        if (mem != null) {
            for (MemoryRegion r : mem) {
                if (r.holdsFrontend(qva)) {
                    return cut(qva, len, r.frontendAddress(), r);
                }
            }
        }
        len[0] = 0;
        return 0;
    }

    /**
     * {@code rte_vhost_va_from_guest_pa}: a guest physical address to the backend's.
     *
     * @param gpa guest physical address
     * @param len in: length; out: cut at the end of the region, 0 when no region holds {@code gpa}
     * @return the backend's address, 0 if no region holds {@code gpa}
     */
    public long gpaToVva(long gpa, long[] len) {
        if (mem != null) {
            for (MemoryRegion r : mem) {
                if (r.holdsGuestPhysical(gpa)) {
                    return cut(gpa, len, r.guestPhysicalAddress(), r);
                }
            }
        }
        len[0] = 0;
        return 0;
    }

    // the backend's address of 'address' in r, which starts at 'start' in that address space; len cut at r's end
    private static long cut(long address, long[] len, long start, MemoryRegion r) {
        long end = start + r.size();
        if (Long.compareUnsigned(len[0], end - address) > 0) {
            len[0] = end - address;
        }
        return address - start + r.backendAddress();
    }

    /**
     * {@code vhost_user_iotlb_msg}: applies an UPDATE or INVALIDATE.
     *
     * @param msg the message
     * @return true for RTE_VHOST_MSG_RESULT_OK, false for RTE_VHOST_MSG_RESULT_ERR (an UPDATE of an
     *     address in no region, or a type other than UPDATE and INVALIDATE)
     */
    public boolean iotlbMsg(VhostIotlbMsg msg) {
        Objects.requireNonNull(msg, "msg");
        if (msg.type() == IotlbType.UPDATE.wire()) {
            Access perm = Access.requireSome(msg.access());
            long[] len = {msg.size()};
            long vva = qvaToVva(msg.uaddr(), len);
            if (vva == 0) {
                return false;
            }
            for (Iotlb vq : queues) {
                vq.cacheInsert(msg.iova(), vva, len[0], perm);
            }
            return true;
        }
        if (msg.type() == IotlbType.INVALIDATE.wire()) {
            for (Iotlb vq : queues) {
                vq.cacheRemove(msg.iova(), msg.size());
            }
            return true;
        }
        return false; // "invalid IOTLB message type"
    }

    /**
     * {@code vhost_user_set_mem_table}'s effect on the IOTLB.
     *
     * @param regions the new table
     */
    public void setMemTable(List<MemoryRegion> regions) {
        List<MemoryRegion> table = List.copyOf(regions);
        if (mem != null && !changed(table, mem)) {
            return; // "memory regions not changed"
        }
        mem = table;
        // "Flush IOTLB cache as previous HVAs are now invalid"
        if (iommuPlatform) {
            for (Iotlb vq : queues) {
                vq.flushAll();
            }
        }
    }

    // vhost_memory_changed(): compares guest_phys_addr, memory_size and userspace_addr only
    private static boolean changed(List<MemoryRegion> now, List<MemoryRegion> old) {
        if (now.size() != old.size()) {
            return true;
        }
        for (int i = 0; i < now.size(); i++) {
            if (!now.get(i).sameAsSent(old.get(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code vhost_user_get_vring_base}'s effect on the IOTLB: that queue's flush.
     *
     * @param vq index
     */
    public void getVringBase(int vq) {
        queues.get(vq).flushAll();
    }

    /**
     * {@code vhost_iova_to_vva} of the data path.
     *
     * @param vq index
     * @param iova the address (a guest physical address without VIRTIO_F_IOMMU_PLATFORM)
     * @param size in: length; out: as DPDK leaves it (cut at a region's end on the GPA path)
     * @param perm {@link Access}
     * @return the backend's address, 0 on a miss
     */
    public long iovaToVva(int vq, long iova, long[] size, Access perm) {
        if (!iommuPlatform) {
            return gpaToVva(iova, size);
        }
        return queues.get(vq).iovaToVva(iova, size, perm);
    }
}
