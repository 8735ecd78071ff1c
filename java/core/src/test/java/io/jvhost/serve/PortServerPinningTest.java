package io.jvhost.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.internal.NativeEal;
import io.jvhost.mbuf.MbufPool;
import io.jvhost.testing.SharedEal;
import io.jvhost.vhost.VhostUserPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serving thread pinned like a DPDK forwarding lcore, seen from /proc. */
class PortServerPinningTest {
    @TempDir
    Path dir;

    /** Cpus_allowed_list of every thread of this JVM named {@code name}. */
    private static List<String> cpusOfThreads(String name) throws IOException {
        List<String> found = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    if (Files.readString(t.resolve("comm")).trim().equals(name)) {
                        for (String line : Files.readAllLines(t.resolve("status"))) {
                            if (line.startsWith("Cpus_allowed_list:")) {
                                found.add(line.substring(line.indexOf(':') + 1).trim());
                            }
                        }
                    }
                } catch (IOException gone) {
                    // the thread ended meanwhile
                }
            }
        }
        return found;
    }

    @Test
    void onlyTheServingThreadIsPinned() throws Exception {
        SharedEal.get();
        int[] process = NativeEal.affinity();
        int cpu = process[process.length - 1];
        try (MbufPool pool = MbufPool.create(2047);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open();
                PortServer server = PortServer.start(List.of(port), Mode.SINK, pool, 64, 0, new int[] {cpu})) {
            assertThat(server.isRunning(), equalTo(true));
            assertThat(cpusOfThreads("jvhost-serve"), hasItem(Integer.toString(cpu)));
            assertThat("the caller keeps its CPUs", NativeEal.affinity(), equalTo(process));
        }
    }

    @Test
    void aCpuThatCannotBeUsedIsRefusedAtStart() throws Exception {
        SharedEal.get();
        try (MbufPool pool = MbufPool.create(2047);
                VhostUserPort port = VhostUserPort.builder(dir.resolve("s")).open()) {
            List<String> before = cpusOfThreads("jvhost-serve"); // other tests' servers may still run
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PortServer.start(List.of(port), Mode.SINK, pool, 64, 0, new int[] {1000}));
            assertThat(e.getMessage(), containsString("1000"));
            // Thread.join returns before the OS thread is gone from /proc: give it a moment
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!cpusOfThreads("jvhost-serve").equals(before) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat("no serving thread left behind", cpusOfThreads("jvhost-serve"), equalTo(before));
            try (PortServer unpinned = PortServer.start(List.of(port), Mode.SINK, pool, 64, 0, null)) {
                assertThat(unpinned.isRunning(), equalTo(true));
            }
            assertThat(pool.inUse(), equalTo(0));
        }
    }
}
