package io.jvhost.eal;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jvhost.internal.NativeEal;
import io.jvhost.testing.SharedEal;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** EAL in the test JVM (started once, shared). */
class EalTest {
    @Test
    void startsWithDefaultsThatNeedNoHugepages() {
        Eal eal = SharedEal.get();
        assertThat(eal.isOpen(), equalTo(true));
        assertThat(eal.arguments(), hasItem("--no-huge"));
        assertThat(eal.arguments(), hasItem("--no-pci"));
        assertThat(eal.arguments(), hasItem("--no-telemetry"));
        assertThat(eal.arguments(), hasItem("--file-prefix=jvhost-" + ProcessHandle.current().pid()));
        assertThat(eal.arguments().get(0), startsWith("--lcores=0@("));
        assertThat(eal.dpdkVersion(), startsWith("DPDK 22.11"));
        assertThat(eal.lcoreCount(), greaterThanOrEqualTo(1));
        assertThat(Eal.current(), equalTo(Optional.of(eal)));
        assertThat(Eal.require(), equalTo(eal));
    }

    @Test
    void startingEalPinsNoJavaThread() throws Exception {
        int[] before = NativeEal.affinity();
        SharedEal.get();
        assertThat("the starting thread keeps its CPUs", NativeEal.affinity(), equalTo(before));
        AtomicReference<int[]> seen = new AtomicReference<>();
        Thread t = new Thread(() -> seen.set(NativeEal.affinity()));
        t.start();
        t.join();
        assertThat("new threads keep the process's CPUs", seen.get(), equalTo(before));
        // the default lcore map names exactly those CPUs
        StringBuilder cpus = new StringBuilder();
        for (int c : before) {
            cpus.append(cpus.length() == 0 ? "" : ",").append(c);
        }
        assertThat(SharedEal.get().arguments().get(0), equalTo("--lcores=0@(" + cpus + ")"));
    }

    @Test
    void pinningChangesOnlyTheCallingThread() throws Exception {
        int[] process = NativeEal.affinity();
        int last = process[process.length - 1];
        AtomicReference<Object> pinned = new AtomicReference<>();
        Thread t = new Thread(() -> {
            Eal.pinCurrentThread(last);
            pinned.set(NativeEal.affinity());
        });
        t.start();
        t.join();
        assertThat((int[]) pinned.get(), equalTo(new int[] {last}));
        assertThat("the caller is untouched", NativeEal.affinity(), equalTo(process));
    }

    @Test
    void pinningToNoUsableCpuIsRefused() throws Exception {
        int[] process = NativeEal.affinity();
        assertThrows(IllegalArgumentException.class, Eal::pinCurrentThread);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Eal.pinCurrentThread(1000));
        assertThat(e.getMessage(), containsString("1000"));
        assertThrows(IllegalArgumentException.class, () -> Eal.pinCurrentThread(-1));
        assertThrows(IllegalArgumentException.class, () -> Eal.pinCurrentThread(5000));
        assertThat("a refused pin leaves the thread as it was", NativeEal.affinity(), equalTo(process));
    }

    @Test
    void registeredThreadGetsAnLcoreAndGivesItBack() throws Exception {
        Eal eal = SharedEal.get();
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                assertThat(Eal.currentLcore(), equalTo(Optional.empty()));
                int id;
                try (LcoreRegistration r = eal.registerThread()) {
                    id = r.lcoreId();
                    assertThat(Eal.currentLcore(), equalTo(Optional.of(id)));
                    assertThat(id, greaterThanOrEqualTo(1)); // 0 is the main lcore
                    IllegalStateException twice = assertThrows(IllegalStateException.class, eal::registerThread);
                    assertThat(twice.getMessage(), containsString("already has lcore " + id));
                }
                assertThat(Eal.currentLcore(), equalTo(Optional.empty()));
                result.set(id);
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.start();
        t.join();
        assertThat(result.get() + "", result.get() instanceof Integer, equalTo(true));
    }

    @Test
    void lcoreOfAThreadThatEndsIsReleased() throws Exception {
        Eal eal = SharedEal.get();
        int lcoresBefore = eal.lcoreCount();
        AtomicInteger first = new AtomicInteger(-1);
        Thread t = new Thread(() -> first.set(eal.registerThread().lcoreId())); // never closed
        t.start();
        t.join();
        assertThat(first.get(), greaterThanOrEqualTo(1));
        // join() returns when the Java side ended; the release runs as the native thread exits.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (eal.lcoreCount() != lcoresBefore && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat("the ended thread's lcore was released", eal.lcoreCount(), equalTo(lcoresBefore));
        AtomicInteger second = new AtomicInteger(-1);
        Thread u = new Thread(() -> {
            try (LcoreRegistration r = eal.registerThread()) {
                second.set(r.lcoreId());
            }
        });
        u.start();
        u.join();
        assertThat("DPDK gives the same, lowest free id again", second.get(), equalTo(first.get()));
    }

    @Test
    void registrationMustBeClosedOnItsThread() throws Exception {
        Eal eal = SharedEal.get();
        AtomicReference<LcoreRegistration> reg = new AtomicReference<>();
        Thread t = new Thread(() -> reg.set(eal.registerThread()));
        t.start();
        t.join();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> reg.get().close());
        assertThat(e.getMessage(), containsString("close its registration on that thread"));
    }

    @Test
    void ownedResourcesCloseBeforeEal() {
        // Only the bookkeeping here: closing the shared EAL would end it for every test.
        Eal eal = SharedEal.get();
        AutoCloseable r = () -> { };
        assertThat(eal.own(r), equalTo(r));
        eal.disown(r);
    }

    @Test
    void configBuildsTheDocumentedArguments() {
        List<String> args = EalConfig.builder().memoryMb(128).filePrefix("jvhost-x").extraArgs("--vdev", "net_null0")
                .build().toArgs(new int[] {0, 1});
        assertThat(args, contains("--lcores=0@(0,1)", "--no-huge", "-m", "128", "--no-pci", "--no-telemetry",
                "--file-prefix=jvhost-x", "--vdev", "net_null0"));
        List<String> huge = EalConfig.builder().hugepages(true).pci(true).telemetry(true).lcores("0@1").build()
                .toArgs(new int[] {0});
        assertThat(huge, contains("--lcores=0@1", "--in-memory", "--single-file-segments", "-m", "256"));
        assertThrows(IllegalArgumentException.class, () -> EalConfig.builder().memoryMb(0));
        assertThrows(IllegalArgumentException.class, () -> EalConfig.builder().lcores(" "));
        assertThrows(NullPointerException.class, () -> EalConfig.raw(java.util.Arrays.asList("a", null)));
    }
}
