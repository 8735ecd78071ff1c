package io.jvhost.guests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compares two dumps of guest memory (QEMU's {@code pmemsave}) page by page: after a migration the
 * destination's memory must equal the paused source's, or a store was not carried over (by QEMU's
 * own dirty tracking, or by the backend's dirty log).
 */
final class MemoryDiff {
    static final int PAGE = 4096;

    private MemoryDiff() {
    }

    /** One page that differs: its guest physical address and how many of its bytes differ. */
    record Page(long gpa, int bytes, int first, int last) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "gpa 0x%08x (%d bytes differ, +0x%x..+0x%x)", gpa, bytes, first, last);
        }
    }

    /**
     * @param base the guest physical address both dumps start at
     * @return the pages that differ, in address order; a dump longer than the other differs in
     *     every page of its excess
     */
    static List<Page> pages(Path a, Path b, long base) throws IOException {
        List<Page> r = new ArrayList<>();
        try (FileChannel ca = FileChannel.open(a, StandardOpenOption.READ);
                FileChannel cb = FileChannel.open(b, StandardOpenOption.READ)) {
            ByteBuffer pa = ByteBuffer.allocate(PAGE);
            ByteBuffer pb = ByteBuffer.allocate(PAGE);
            long size = Math.max(ca.size(), cb.size());
            for (long off = 0; off < size; off += PAGE) {
                int na = read(ca, pa, off);
                int nb = read(cb, pb, off);
                if (na != nb || pa.mismatch(pb) >= 0) {
                    r.add(compare(base + off, pa, pb));
                }
            }
        }
        return r;
    }

    /**
     * Both dumps' bytes at the start of each page's differing range (at most 32 bytes, of the first
     * {@code pages} pages), for a failure message.
     */
    static String excerpts(Path a, Path b, long base, List<Page> diff, int pages) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (FileChannel ca = FileChannel.open(a, StandardOpenOption.READ);
                FileChannel cb = FileChannel.open(b, StandardOpenOption.READ)) {
            ByteBuffer pa = ByteBuffer.allocate(PAGE);
            ByteBuffer pb = ByteBuffer.allocate(PAGE);
            for (Page p : diff.subList(0, Math.min(pages, diff.size()))) {
                read(ca, pa, p.gpa() - base);
                read(cb, pb, p.gpa() - base);
                int from = p.first() & ~15;
                int to = Math.min(PAGE, Math.max(from + 16, Math.min(p.last() + 1, from + 32)));
                sb.append(String.format(Locale.ROOT, "%n  0x%08x: %s%n  %10s  %s", p.gpa() + from, hex(pa, from, to), "",
                        hex(pb, from, to)));
            }
        }
        return sb.toString();
    }

    private static String hex(ByteBuffer page, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            sb.append(i < page.remaining() ? String.format(Locale.ROOT, "%02x", page.get(i) & 0xff) : "--");
            sb.append(i % 4 == 3 ? " " : "");
        }
        return sb.toString();
    }

    private static int read(FileChannel c, ByteBuffer page, long off) throws IOException {
        page.clear();
        while (page.hasRemaining()) {
            if (c.read(page, off + page.position()) < 0) {
                break;
            }
        }
        return page.flip().remaining();
    }

    private static Page compare(long gpa, ByteBuffer a, ByteBuffer b) {
        int n = Math.max(a.remaining(), b.remaining());
        int count = 0;
        int first = -1;
        int last = -1;
        for (int i = 0; i < n; i++) {
            int x = i < a.remaining() ? a.get(i) : -1;
            int y = i < b.remaining() ? b.get(i) : -1;
            if (i >= a.remaining() || i >= b.remaining() || x != y) {
                count++;
                first = first < 0 ? i : first;
                last = i;
            }
        }
        return new Page(gpa, count, first, last);
    }
}
