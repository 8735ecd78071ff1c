package io.jvhost.frontend;

import io.jvhost.testing.TmpfsPages;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Test access to the (unlinked) tmpfs file behind a {@link GuestMemory.Region}, to count the
 * pages anybody touched ({@link TmpfsPages}). Test code only: the product has no need for it.
 */
public final class GuestMemoryFiles {
    private GuestMemoryFiles() {
    }

    /**
     * @param r a region of open guest memory
     * @return the descriptor number of its file in this process
     */
    @SuppressWarnings("resource") // a stream on a borrowed descriptor: closing it would close the region's file
    public static int fd(GuestMemory.Region r) {
        try {
            return TmpfsPages.tag(new FileInputStream(r.fd()).getChannel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param r a region of open guest memory
     * @return how many of its pages are allocated (have been touched through any mapping)
     */
    public static long allocatedPages(GuestMemory.Region r) {
        return TmpfsPages.allocatedPages(fd(r));
    }
}
