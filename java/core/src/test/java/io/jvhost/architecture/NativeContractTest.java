package io.jvhost.architecture;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The JNI contract, checked on the compiled classes of the core: natives return a value (a number
 * that is {@code >= 0} or {@code -errno}, bytes, a string) or a value object built in C; none
 * returns positional {@code long[]}/{@code int[]}/{@code Object[]} slots, and no array travels
 * into native code to carry a result out, except the few listed here with their reason. Natives
 * outside {@code io.jvhost.internal} are private and return records: they sit beside the value
 * types they build, so that internal never depends on a public package.
 */
class NativeContractTest {
    /** Array parameters natives may take, by "Class.method": each is an input, or said why not. */
    private static final Map<String, String> ARRAY_PARAMETERS = Map.of(
            "NativeEal.init", "argv (input)",
            "NativeEal.setAffinity", "CPUs (input)",
            "NativeIotlbDevice.request", "message bytes and file descriptors (inputs)",
            "NativeVhost.readMemory", "the destination of guest bytes, as InputStream.read",
            "NativeIotlbCache.cacheFind", "DPDK's in/out uint64_t *size, a reused cell: the lookup allocates nothing",
            "NativeIotlbCache.iovaToVva", "DPDK's in/out uint64_t *size, a reused cell: the lookup allocates nothing",
            "NativeIotlbCache.findLoop", "IOVAs to look up (input)");
    /** Natives returning a primitive array other than bytes: a list, not slots. */
    private static final Set<String> ARRAY_RESULTS = Set.of("NativeEal.affinity");

    private static List<Class<?>> coreClasses() throws IOException, ClassNotFoundException {
        Path classes = Path.of(System.getProperty("jvhost.basedir"), "java", "core", "target", "classes");
        List<Class<?>> result = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            // META-INF/versions/22 holds the JDK 22+ variants: no natives there, and not loadable by path
            files = walk.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class")
                    && !classes.relativize(p).startsWith("META-INF")).toList();
        }
        for (Path f : files) {
            String name = classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
            result.add(Class.forName(name, false, NativeContractTest.class.getClassLoader()));
        }
        return result;
    }

    @Test
    void nativesReturnValuesAndTakeNoResultArrays() throws Exception {
        List<String> violations = new ArrayList<>();
        int natives = 0;
        for (Class<?> c : coreClasses()) {
            for (Method m : c.getDeclaredMethods()) {
                if (!Modifier.isNative(m.getModifiers())) {
                    continue;
                }
                natives++;
                String name = c.getSimpleName() + "." + m.getName();
                Class<?> r = m.getReturnType();
                boolean internal = c.getPackageName().startsWith("io.jvhost.internal");
                if (r.isArray() && r != byte[].class && !r.getComponentType().isRecord()
                        && !ARRAY_RESULTS.contains(name)) {
                    violations.add(name + " returns " + r.getSimpleName() + ": return a record built in C");
                }
                if (r == Object.class) {
                    violations.add(name + " returns Object: return the type it builds");
                }
                for (Class<?> p : m.getParameterTypes()) {
                    if (p.isArray() && !ARRAY_PARAMETERS.containsKey(name)) {
                        violations.add(name + " takes " + p.getSimpleName() + ": results come back as return values");
                    }
                }
                if (!internal) {
                    if (!Modifier.isPrivate(m.getModifiers())) {
                        violations.add(name + " is a native outside io.jvhost.internal that is not private");
                    }
                    Class<?> built = r.isArray() ? r.getComponentType() : r;
                    if (!built.isRecord()) {
                        violations.add(name + " is a native outside io.jvhost.internal that returns "
                                + r.getSimpleName() + ", not a record: primitives belong in internal");
                    }
                }
            }
        }
        assertThat("native methods found", natives, greaterThan(40));
        assertThat(violations, empty());
    }

    /** The value objects C builds are those this test expects, so that the check above has work to do. */
    @Test
    void valueObjectsBuiltInCAreRecords() throws Exception {
        List<String> built = new ArrayList<>();
        for (Class<?> c : coreClasses()) {
            for (Method m : c.getDeclaredMethods()) {
                Class<?> r = m.getReturnType();
                Class<?> t = r.isArray() ? r.getComponentType() : r;
                if (Modifier.isNative(m.getModifiers()) && t.isRecord()) {
                    built.add(t.getSimpleName());
                }
            }
        }
        assertThat(built.stream().distinct().sorted().toList(), equalTo(List.of("DeviceInfo", "EalInitResult",
                "EthStats", "IotlbCounters", "IotlbEntry", "MemoryRegion", "Offsets", "PendingEntry", "Translation",
                "VringInfo", "VringStatistics")));
    }
}
