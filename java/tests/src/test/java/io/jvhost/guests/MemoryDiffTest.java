package io.jvhost.guests;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MemoryDiff}, which MigrationTest trusts to find a page the migration did not carry over. */
class MemoryDiffTest {
    @TempDir
    Path dir;

    @Test
    void equalDumpsHaveNoDifferingPage() throws Exception {
        byte[] m = random(64 * MemoryDiff.PAGE);
        assertThat(MemoryDiff.pages(write("a", m), write("b", m.clone()), 0), empty());
    }

    @Test
    void namesEachDifferingPageWithItsAddressAndBytes() throws Exception {
        byte[] a = random(64 * MemoryDiff.PAGE);
        byte[] b = a.clone();
        b[5 * MemoryDiff.PAGE + 0x10]++; // one byte
        b[63 * MemoryDiff.PAGE]++; // the first and last bytes of the last page
        b[64 * MemoryDiff.PAGE - 1]++;
        assertThat(MemoryDiff.pages(write("a", a), write("b", b), 0x100000),
                contains(new MemoryDiff.Page(0x105000, 1, 0x10, 0x10),
                        new MemoryDiff.Page(0x13f000, 2, 0, 0xfff)));
    }

    @Test
    void excerptsShowBothDumpsWhereTheyDiffer() throws Exception {
        byte[] a = new byte[2 * MemoryDiff.PAGE];
        byte[] b = a.clone();
        b[MemoryDiff.PAGE + 0x21] = (byte) 0xab;
        Path pa = write("a", a);
        Path pb = write("b", b);
        String text = MemoryDiff.excerpts(pa, pb, 0x1000, MemoryDiff.pages(pa, pb, 0x1000), 5);
        assertThat(text, equalTo(String.format("%n  0x00002020: 00000000 00000000 00000000 00000000 "
                + "%n              00ab0000 00000000 00000000 00000000 ")));
    }

    @Test
    void aShorterDumpDiffersInTheMissingPages() throws Exception {
        byte[] a = random(4 * MemoryDiff.PAGE);
        byte[] b = new byte[3 * MemoryDiff.PAGE - 100];
        System.arraycopy(a, 0, b, 0, b.length);
        assertThat(MemoryDiff.pages(write("a", a), write("b", b), 0),
                contains(new MemoryDiff.Page(2 * MemoryDiff.PAGE, 100, MemoryDiff.PAGE - 100, MemoryDiff.PAGE - 1),
                        new MemoryDiff.Page(3 * MemoryDiff.PAGE, MemoryDiff.PAGE, 0, MemoryDiff.PAGE - 1)));
    }

    private Path write(String name, byte[] data) throws Exception {
        return Files.write(dir.resolve(name), data);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(7).nextBytes(b);
        return b;
    }
}
