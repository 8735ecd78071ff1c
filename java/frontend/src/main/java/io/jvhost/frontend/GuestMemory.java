package io.jvhost.frontend;

import io.jvhost.protocol.MemoryRegion;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The "guest RAM" of the Java frontend: one or more regions, each a file on a tmpfs (by default
 * {@code /dev/shm}) mapped with {@link FileChannel#map} and shared with the backend by passing the
 * file's descriptor in {@code SET_MEM_TABLE}. The file is unlinked right after it is opened, so
 * nothing is left on disk; the memory goes away when both sides have closed and unmapped it.
 *
 * <p>A {@link MappedByteBuffer} holds at most 2 GiB, so one region is at most
 * {@link #MAX_REGION_SIZE} (1 GiB); larger memories get several regions (up to 8, the vhost-user
 * limit). Guest physical addresses (GPAs) start at {@link #GPA_BASE}. The frontend's
 * "userspace address" of a GPA, which the backend uses to key its own mappings (ring addresses
 * without IOMMU, {@code uaddr} of IOTLB updates), is {@code gpa + } {@link #USER_ADDR_OFFSET}: a
 * Java program has no stable address for a mapped buffer, and the backend only needs the numbers
 * to be consistent.
 *
 * <p>Memory is handed out by a bump allocator ({@link #allocate}) that never lets an allocation
 * straddle two regions. Accessors take GPAs. The mapped buffers are never unmapped explicitly
 * (an access after unmapping would crash the JVM); the garbage collector unmaps them.
 */
public final class GuestMemory implements AutoCloseable {
    /** Largest region (a MappedByteBuffer is indexed by int). */
    public static final long MAX_REGION_SIZE = 1L << 30;
    /** First guest physical address (the first page stays unused: address 0 is never handed out). */
    public static final long GPA_BASE = 0;
    /** Frontend "userspace address" = GPA + this. */
    public static final long USER_ADDR_OFFSET = 0x7f00_0000_0000L;
    /** Page size used for alignment. */
    public static final int PAGE_SIZE = 4096;

    /** One region: a GPA range backed by one shared file. */
    public static final class Region {
        private final long gpa;
        private final long size;
        private final RandomAccessFile file;
        private final MappedByteBuffer buffer;

        Region(long gpa, long size, RandomAccessFile file, MappedByteBuffer buffer) {
            this.gpa = gpa;
            this.size = size;
            this.file = file;
            this.buffer = buffer;
        }

        /** @return first guest physical address */
        public long guestPhysAddr() {
            return gpa;
        }

        /** @return size in bytes */
        public long size() {
            return size;
        }

        /** @return the frontend userspace address announced for the first byte */
        public long userAddr() {
            return gpa + USER_ADDR_OFFSET;
        }

        /** @return offset into the file (always 0 here) */
        public long mmapOffset() {
            return 0;
        }

        FileDescriptor fd() throws IOException {
            return file.getFD();
        }

        ByteBuffer buffer() {
            return buffer;
        }

        boolean contains(long addr) {
            return addr >= gpa && addr - gpa < size;
        }
    }

    private final List<Region> regions;
    private final long size;
    private long next = GPA_BASE + PAGE_SIZE;
    private volatile boolean closed;

    private GuestMemory(List<Region> regions) {
        this.regions = Collections.unmodifiableList(regions);
        long s = 0;
        for (Region r : regions) {
            s += r.size;
        }
        this.size = s;
    }

    /**
     * Creates guest memory of {@code size} bytes on {@code /dev/shm}.
     *
     * @param size total size, rounded up to whole pages
     * @param regionSize size of each region (a multiple of 2 MiB, at most {@link #MAX_REGION_SIZE})
     * @return the memory
     * @throws IOException if the shared files cannot be created or mapped
     */
    public static GuestMemory create(long size, long regionSize) throws IOException {
        return create(Path.of("/dev/shm"), size, regionSize);
    }

    /**
     * Creates guest memory in files under {@code dir} (should be a tmpfs or hugetlbfs mount).
     *
     * @param dir directory for the (immediately unlinked) backing files
     * @param size total size, rounded up to whole pages
     * @param regionSize size of each region (a multiple of 2 MiB, at most {@link #MAX_REGION_SIZE})
     * @return the memory
     * @throws IOException if the shared files cannot be created or mapped
     */
    public static GuestMemory create(Path dir, long size, long regionSize) throws IOException {
        if (size <= 0) {
            throw new IllegalArgumentException("guest memory size must be positive, got " + size);
        }
        if (regionSize <= 0 || regionSize > MAX_REGION_SIZE || regionSize % (2L << 20) != 0) {
            throw new IllegalArgumentException("region size must be a multiple of 2 MiB up to 1 GiB, got " + regionSize);
        }
        long total = (size + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
        int count = (int) ((total + regionSize - 1) / regionSize);
        if (count > MemoryRegion.MAX_REGIONS) {
            throw new IllegalArgumentException(count + " regions of " + regionSize + " bytes needed for " + size
                    + " bytes; vhost-user allows at most " + MemoryRegion.MAX_REGIONS);
        }
        List<Region> regions = new ArrayList<>();
        try {
            long gpa = GPA_BASE;
            for (int i = 0; i < count; i++) {
                long rs = Math.min(regionSize, total - (gpa - GPA_BASE));
                Path f = Files.createTempFile(dir, "jvhost-guest-", ".mem");
                RandomAccessFile raf;
                try {
                    raf = new RandomAccessFile(f.toFile(), "rw");
                } finally {
                    Files.deleteIfExists(f);
                }
                try {
                    raf.setLength(rs);
                    MappedByteBuffer mb = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, rs);
                    mb.order(ByteOrder.LITTLE_ENDIAN);
                    regions.add(new Region(gpa, rs, raf, mb));
                } catch (IOException | RuntimeException e) {
                    raf.close();
                    throw e;
                }
                gpa += rs;
            }
        } catch (IOException | RuntimeException e) {
            for (Region r : regions) {
                try {
                    r.file.close();
                } catch (IOException ignored) {
                    // best effort
                }
            }
            throw e;
        }
        return new GuestMemory(regions);
    }

    /** @return the regions, in GPA order */
    public List<Region> regions() {
        return regions;
    }

    /** @return total size in bytes */
    public long size() {
        return size;
    }

    /**
     * Hands out {@code length} bytes aligned to {@code align}, never across a region boundary.
     *
     * @param length bytes wanted
     * @param align power-of-two alignment
     * @return the GPA of the first byte
     * @throws IllegalStateException if the memory is exhausted
     */
    public synchronized long allocate(long length, long align) {
        if (length <= 0 || Long.bitCount(align) != 1) {
            throw new IllegalArgumentException("bad allocation: length " + length + ", align " + align);
        }
        for (Region r : regions) {
            long start = Math.max(next, r.gpa);
            start = (start + align - 1) & -align;
            if (start + length <= r.gpa + r.size) {
                next = start + length;
                return start;
            }
        }
        throw new IllegalStateException("guest memory of " + size + " bytes exhausted (wanted " + length + " more)");
    }

    /** @return the GPA below which memory has been handed out */
    public synchronized long allocatedEnd() {
        return next;
    }

    /**
     * @param gpa a guest physical address
     * @return the region holding it
     * @throws IllegalArgumentException if no region holds it
     */
    public Region regionOf(long gpa) {
        for (Region r : regions) {
            if (r.contains(gpa)) {
                return r;
            }
        }
        throw new IllegalArgumentException("GPA 0x" + Long.toHexString(gpa) + " is outside guest memory");
    }

    /**
     * @param gpa a guest physical address
     * @return the frontend userspace address of it
     */
    public long userAddr(long gpa) {
        regionOf(gpa);
        return gpa + USER_ADDR_OFFSET;
    }

    ByteBuffer bufferOf(long gpa, long length) {
        Region r = regionOf(gpa);
        if (length < 0 || gpa - r.gpa + length > r.size) {
            throw new IllegalArgumentException("range GPA 0x" + Long.toHexString(gpa) + "+" + length + " crosses a region end");
        }
        return r.buffer;
    }

    int offsetOf(long gpa) {
        return (int) (gpa - regionOf(gpa).gpa);
    }

    /**
     * Copies guest memory out.
     *
     * @param gpa first byte
     * @param dst destination array
     * @param off offset in {@code dst}
     * @param len bytes
     */
    public void read(long gpa, byte[] dst, int off, int len) {
        checkOpen();
        bufferOf(gpa, len).get(offsetOf(gpa), dst, off, len);
    }

    /**
     * Copies into guest memory.
     *
     * @param gpa first byte
     * @param src source array
     * @param off offset in {@code src}
     * @param len bytes
     */
    public void write(long gpa, byte[] src, int off, int len) {
        checkOpen();
        bufferOf(gpa, len).put(offsetOf(gpa), src, off, len);
    }

    /**
     * Fills guest memory with one byte value.
     *
     * @param gpa first byte
     * @param len bytes
     * @param value the byte
     */
    public void fill(long gpa, int len, byte value) {
        checkOpen();
        ByteBuffer b = bufferOf(gpa, len);
        int o = offsetOf(gpa);
        for (int i = 0; i < len; i++) {
            b.put(o + i, value);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("guest memory is closed");
        }
    }

    /** Closes the backing files (the mappings go away when the buffers are collected). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Region r : regions) {
            try {
                r.file.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
