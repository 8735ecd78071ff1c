package io.jvhost.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Which pages of a tmpfs file anybody has touched. On tmpfs (with huge pages off, as
 * {@code /sys/kernel/mm/transparent_hugepage/shmem_enabled} says here) a page nobody has read or
 * written through a mapping is a hole: the first fault on it, a read through any mapping of any
 * process included (DPDK's {@code MAP_SHARED} mapping in this JVM, the frontend's own), allocates
 * it, and the file's allocated block count grows by one page. {@code read(2)} of a hole does not
 * allocate (it copies the zero page), and neither does {@code stat}. Measured with a C program on
 * this kernel before this was relied on: see docs/security.md, section 3.
 *
 * <p>Java cannot {@code fstat} a descriptor, so the count comes from {@code stat -L} of
 * {@code /proc/<pid>/fd/<n>} in a child process; a descriptor is found by its file offset, which
 * {@link #tag} sets to a unique value (the offset is shared by every copy of the descriptor and
 * shown in {@code /proc/self/fdinfo}; memory mappings and positional reads ignore it).
 */
public final class TmpfsPages {
    private static final AtomicLong NEXT_TAG = new AtomicLong(0x5ec0_0000_0000L);

    private TmpfsPages() {
    }

    /**
     * Gives an open file a unique file offset and returns the descriptor number it has in this
     * process.
     *
     * @param channel a channel on the file (its position is changed)
     * @return the descriptor number under {@code /proc/self/fd}
     */
    public static int tag(FileChannel channel) {
        requireSmallPages();
        long tag = NEXT_TAG.getAndAdd(0x1000);
        try {
            channel.position(tag);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String want = "pos:\t" + tag;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fdinfo"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                        if (line.equals(want)) {
                            return Integer.parseInt(p.getFileName().toString());
                        }
                    }
                } catch (IOException gone) {
                    // closed meanwhile (e.g. the descriptor of the listing itself)
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no descriptor of this process has file offset " + tag);
    }

    /** Fails clearly where tmpfs may back files with huge pages (counts would be in 2 MiB steps). */
    private static void requireSmallPages() {
        try {
            Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
            String setting = Files.exists(thp) ? Files.readString(thp).trim() : "[never]";
            boolean hugeMount = Files.readAllLines(Path.of("/proc/mounts")).stream()
                    .anyMatch(l -> l.contains(" /dev/shm ") && l.matches(".*huge=(always|within_size).*"));
            if (setting.contains("[always]") || setting.contains("[within_size]") || setting.contains("[force]")
                    || hugeMount) {
                throw new AssertionError("tmpfs may use huge pages here (shmem_enabled: " + setting
                        + "); the page-count checks need 4 KiB pages");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param fd a descriptor number of this process, on a tmpfs file
     * @return how many 4 KiB pages of the file are allocated (touched), from {@code st_blocks}
     */
    public static long allocatedPages(int fd) {
        Path link = Path.of("/proc/" + ProcessHandle.current().pid() + "/fd/" + fd);
        try {
            Process p = new ProcessBuilder("stat", "-L", "-c", "%b %B", link.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("stat " + link + " failed: " + out);
            }
            String[] f = out.split(" ");
            return Long.parseLong(f[0]) * Long.parseLong(f[1]) / 4096;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
