package io.jvhost.misuse;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Calls every public constructor and method of every class in the core's exported packages, in a
 * random order, with boundary arguments: null, 0, -1, {@code Integer.MAX_VALUE}, empty and huge
 * arrays, objects made by earlier calls (closed ones too, of another pool, of an EAL that has
 * closed), from the calling thread or a second one, before and after {@code Eal.close()}. The API
 * is enumerated by reflection from {@code module-info}: a new public method is fuzzed without
 * anyone adding it here.
 *
 * <p>A call may work or throw an exception a caller can handle (see {@link #acceptable}); an
 * {@link Error}, an unexpected exception type, a call that does not return within
 * {@value #CALL_TIMEOUT_SECONDS} s, or a JVM crash fails the run. Runs in a child JVM
 * ({@link ReflectiveMisuseFuzzTest}): {@code ReflectiveMisuseFuzz <seed> <calls> [call log]}; a
 * failure prints the seed and the calls that led to it, to replay them; the call log has every
 * call, written before it is made, for the case where the JVM dies.
 */
public final class ReflectiveMisuseFuzz {
    private static final int CALL_TIMEOUT_SECONDS = 20;
    private static final int KEEP_PER_TYPE = 6;
    /**
     * Methods left out, each with its reason: they block by design for as long as they are told to,
     * or would end the run by ending the process's EAL too early (Eal.close runs near the end).
     */
    private static final Set<String> EXCLUDED = Set.of(
            "io.jvhost.eal.Eal.close", // called once, after 80 % of the calls
            "io.jvhost.eal.Eal.start" // once, at the beginning: DPDK starts EAL once per process
    );

    private final SplittableRandom rnd;
    private final Path dir;
    private final List<Executable> api;
    private final Map<Class<?>, List<Object>> made = new HashMap<>();
    private final Deque<String> history = new ArrayDeque<>();
    private final ExecutorService first = Executors.newSingleThreadExecutor(r -> daemon(r, "fuzz-first"));
    private final ExecutorService second = Executors.newSingleThreadExecutor(r -> daemon(r, "fuzz-second"));
    private int counter;
    private java.io.PrintStream callLog;
    private long worked;
    private long refused;
    private final Map<String, Integer> refusals = new HashMap<>();

    private ReflectiveMisuseFuzz(long seed, Path dir, List<Executable> api) {
        this.rnd = new SplittableRandom(seed);
        this.dir = dir;
        this.api = api;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[0]);
        int calls = Integer.parseInt(args[1]);
        List<Executable> api = publicApi();
        System.out.println("reflective misuse fuzz: seed " + seed + ", " + calls + " calls over " + api.size()
                + " public constructors and methods");
        Path dir = Files.createTempDirectory("jvhost-rfuzz");
        ReflectiveMisuseFuzz fuzz = new ReflectiveMisuseFuzz(seed, dir, api);
        if (args.length > 2) {
            fuzz.callLog = new java.io.PrintStream(new java.io.FileOutputStream(args[2]), false, "UTF-8");
        }
        Eal eal = Eal.start(EalConfig.builder().memoryMb(512).build());
        fuzz.keep(eal);
        try {
            fuzz.run(calls);
        } catch (Throwable t) {
            System.out.println("FAILED seed " + seed + ": " + t);
            t.printStackTrace(System.out);
            System.out.println("the last calls (replay: -Djvhost.fuzz.seed=" + seed + "):");
            fuzz.history.forEach(h -> System.out.println("  " + h));
            System.exit(1);
        }
        System.out.println("REFLECTIVE FUZZ PASSED seed " + seed + ": " + fuzz.counter + " calls, " + fuzz.worked
                + " worked, " + fuzz.refused + " refused " + fuzz.refusals);
        System.exit(0); // daemon threads of ports the fuzz left open must not keep the JVM
    }

    /** @return the public constructors and methods of the public classes in exported packages */
    static List<Executable> publicApi() throws IOException, ClassNotFoundException {
        Path classes = Path.of(Eal.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        ModuleDescriptor descriptor;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            descriptor = ModuleDescriptor.read(in);
        }
        List<Executable> api = new ArrayList<>();
        for (ModuleDescriptor.Exports e : descriptor.exports()) {
            if (e.isQualified()) {
                continue;
            }
            Path pkg = classes.resolve(e.source().replace('.', '/'));
            List<Path> files;
            try (Stream<Path> s = Files.list(pkg)) {
                files = s.filter(p -> p.toString().endsWith(".class")).sorted().toList();
            }
            for (Path f : files) {
                String name = e.source() + "." + f.getFileName().toString().replace(".class", "");
                Class<?> c = Class.forName(name, false, ReflectiveMisuseFuzz.class.getClassLoader());
                if (!isPublicApi(c)) {
                    continue;
                }
                for (Constructor<?> k : c.getConstructors()) {
                    api.add(k);
                }
                for (Method m : c.getDeclaredMethods()) {
                    if (Modifier.isPublic(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()
                            && !EXCLUDED.contains(c.getName() + "." + m.getName())) {
                        api.add(m);
                    }
                }
            }
        }
        api.sort(Comparator.comparing(Executable::toGenericString)); // same order for the same seed
        return api;
    }

    private static boolean isPublicApi(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass()) {
                return false;
            }
        }
        return true;
    }

    private void run(int calls) throws Exception {
        int closeAt = calls * 8 / 10;
        boolean closed = false;
        while (counter < calls) {
            if (!closed && counter >= closeAt) {
                closed = true;
                Eal eal = Eal.current().orElseThrow(() -> new AssertionError("EAL closed before its time"));
                record("Eal.close() on " + eal);
                invoke(Eal.class.getMethod("close"), eal, new Object[0], false);
            }
            Executable e = api.get(rnd.nextInt(api.size()));
            Object receiver = null;
            if (e instanceof Method m && !Modifier.isStatic(m.getModifiers())) {
                receiver = pick(m.getDeclaringClass());
                if (receiver == null) {
                    continue; // nothing of that class made yet
                }
            }
            Object[] args = arguments(e);
            record(describe(e, receiver, args));
            invoke(e, receiver, args, rnd.nextInt(10) == 0);
        }
    }

    private void record(String call) {
        counter++;
        if (callLog != null) {
            // written before the call, so that a crash leaves the call that crashed last in the file
            callLog.println(counter + ": " + call);
            callLog.flush();
        }
        history.addLast(counter + ": " + call);
        if (history.size() > 40) {
            history.removeFirst();
        }
    }

    private void invoke(Executable e, Object receiver, Object[] args, boolean onSecondThread) throws Exception {
        Future<Object> f = (onSecondThread ? second : first).submit(() -> {
            try {
                return e instanceof Method m ? m.invoke(receiver, args) : ((Constructor<?>) e).newInstance(args);
            } catch (InvocationTargetException ite) {
                throw new Refusal(ite.getCause());
            } catch (IllegalArgumentException iae) {
                // JDK 18+ reflection reports an NPE thrown by a method reference's receiver check
                // (e.g. FastIotlbCache::oldestIndex given null) as IllegalArgumentException(NPE)
                if (iae.getCause() instanceof NullPointerException npe) {
                    throw new Refusal(npe);
                }
                throw iae;
            }
        });
        Object result;
        try {
            result = f.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException t) {
            throw new AssertionError("the call did not return in " + CALL_TIMEOUT_SECONDS + " s: " + history.peekLast());
        } catch (java.util.concurrent.ExecutionException x) {
            Throwable cause = x.getCause();
            if (!(cause instanceof Refusal r)) {
                throw new AssertionError("reflection failed", cause);
            }
            if (!acceptable(r.getCause())) {
                throw new AssertionError("unexpected " + r.getCause(), r.getCause());
            }
            refused++;
            refusals.merge(r.getCause().getClass().getSimpleName(), 1, Integer::sum);
            return;
        }
        worked++;
        keep(result);
    }

    /** A caller can handle these; an Error, or a ClassCastException, is a bug. */
    static boolean acceptable(Throwable t) {
        return t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof NullPointerException || t instanceof IndexOutOfBoundsException
                || t instanceof UnsupportedOperationException || t instanceof io.jvhost.eal.EalException
                || t instanceof io.jvhost.vhost.VhostException || t instanceof java.util.NoSuchElementException
                || t instanceof ArithmeticException
                || (t instanceof Exception && !(t instanceof RuntimeException)); // declared checked ones
    }

    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;

        Refusal(Throwable cause) {
            super(cause);
        }
    }

    private void keep(Object o) {
        if (o == null || o instanceof Number || o instanceof Boolean || o instanceof String) {
            return;
        }
        Class<?> c = o.getClass();
        List<Object> list = made.computeIfAbsent(c, k -> new ArrayList<>());
        if (list.size() >= KEEP_PER_TYPE) {
            Object old = list.remove(rnd.nextInt(list.size()));
            if (old instanceof AutoCloseable a && !(old instanceof Eal)) { // EAL closes once, at 80 %
                try {
                    a.close(); // a serving thread left running would take a core for the rest of the run
                } catch (Exception ignored) {
                    // it may refuse (in use, or holding mbufs): that is its right
                }
            }
        }
        list.add(o);
        if (o instanceof Iterable<?> it) {
            for (Object x : it) {
                if (x != null && !(x instanceof Iterable)) {
                    keep(x);
                }
            }
        }
        if (o instanceof java.util.Optional<?> opt) {
            opt.ifPresent(this::keep);
        }
    }

    private Object pick(Class<?> type) {
        List<Object> candidates = new ArrayList<>();
        for (Map.Entry<Class<?>, List<Object>> e : made.entrySet()) {
            if (type.isAssignableFrom(e.getKey())) {
                candidates.addAll(e.getValue());
            }
        }
        return candidates.isEmpty() ? null : candidates.get(rnd.nextInt(candidates.size()));
    }

    private Object[] arguments(Executable e) {
        Class<?>[] types = e.getParameterTypes();
        java.lang.reflect.Type[] generic = e.getGenericParameterTypes();
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            args[i] = types[i] == List.class && i < generic.length ? list(generic[i]) : value(types[i]);
        }
        return args;
    }

    /** A list of the declared element type: empty, one element, or one null. */
    private Object list(java.lang.reflect.Type type) {
        Class<?> element = Object.class;
        if (type instanceof java.lang.reflect.ParameterizedType p) {
            java.lang.reflect.Type arg = p.getActualTypeArguments()[0];
            if (arg instanceof java.lang.reflect.WildcardType w) { // List<? extends Iotlb>
                arg = w.getUpperBounds()[0];
            }
            if (arg instanceof Class<?> c) {
                element = c;
            }
        }
        return switch (rnd.nextInt(4)) {
            case 0 -> List.of();
            case 1 -> java.util.Collections.singletonList(null);
            default -> {
                Object x = value(element);
                yield java.util.Collections.singletonList(x);
            }
        };
    }

    private <T> T one(T[] choices) {
        return choices[rnd.nextInt(choices.length)];
    }

    private Object value(Class<?> t) {
        if (t == int.class || t == Integer.class) {
            return one(new Integer[] {0, -1, 1, 2, 3, 7, 32, 64, 255, 4096, 65535, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE});
        }
        if (t == long.class || t == Long.class) {
            return one(new Long[] {0L, -1L, 1L, 64L, 4096L, 1L << 32, 0x7fff_ffff_f000L, Long.MAX_VALUE, Long.MIN_VALUE});
        }
        if (t == boolean.class || t == Boolean.class) {
            return rnd.nextBoolean();
        }
        if (t == short.class) {
            return one(new Short[] {0, -1, Short.MAX_VALUE});
        }
        if (t == byte.class) {
            return one(new Byte[] {0, -1, Byte.MAX_VALUE});
        }
        if (t == char.class) {
            return one(new Character[] {'a', '\0'});
        }
        if (t == double.class) {
            return one(new Double[] {0.0, -1.0, Double.NaN, 1e300});
        }
        if (t == float.class) {
            return one(new Float[] {0.0f, -1.0f, Float.NaN, Float.MAX_VALUE});
        }
        if (t.isPrimitive()) {
            return defaultOf(t);
        }
        if (rnd.nextInt(8) == 0 && !t.isPrimitive()) {
            return null;
        }
        if (t == String.class) {
            return one(new String[] {"", "x", "lib.vhost.config", "DEBUG", "0:0:0", "/nonexistent/dir",
                    dir.resolve("s" + (counter % 7)).toString(), "a".repeat(5000), "op 1 2 3", "pkt"});
        }
        if (t == Path.class) {
            return one(new Path[] {dir.resolve("sock" + (counter % 5)), Path.of("/"), Path.of("/nonexistent/x/y"),
                    dir, dir.resolve("a".repeat(200))});
        }
        if (t == Duration.class) {
            return one(new Duration[] {Duration.ZERO, Duration.ofMillis(-1), Duration.ofMillis(1), Duration.ofMillis(30)});
        }
        if (t == byte[].class) {
            return one(new byte[][] {new byte[0], new byte[1], new byte[64], new byte[1600], new byte[70_000]});
        }
        if (t == int[].class) {
            // no fd numbers a real process has open (0-2 are the child's own stdio): see the note in
            // docs/architecture.md on the test device's raw fds
            return one(new int[][] {new int[0], new int[] {-1}, new int[] {1 << 20}, new int[] {4096, -2}});
        }
        if (t == long[].class) {
            return one(new long[][] {new long[0], new long[] {-1}, new long[] {0, Long.MAX_VALUE}});
        }
        if (t == String[].class) {
            return one(new String[][] {new String[0], new String[] {"--no-such"}, new String[] {null}});
        }
        if (t == ByteBuffer.class) {
            int k = rnd.nextInt(4);
            return switch (k) {
                case 0 -> ByteBuffer.allocate(64);
                case 1 -> ByteBuffer.allocateDirect(64);
                case 2 -> ByteBuffer.allocateDirect(4096).position(4000);
                default -> ByteBuffer.allocateDirect(64).asReadOnlyBuffer();
            };
        }
        if (t == Map.class) {
            return Map.of();
        }
        if (t.isEnum()) {
            Object[] constants = t.getEnumConstants();
            return constants[rnd.nextInt(constants.length)];
        }
        if (t.isArray()) {
            return Array.newInstance(t.getComponentType(), rnd.nextInt(3));
        }
        if (t.isInterface() && t.getName().startsWith("io.jvhost") && rnd.nextBoolean()) {
            boolean throwing = rnd.nextBoolean();
            return Proxy.newProxyInstance(t.getClassLoader(), new Class<?>[] {t}, (proxy, m, a) -> {
                if (m.getDeclaringClass() == Object.class) {
                    return m.getName().equals("hashCode") ? System.identityHashCode(proxy)
                            : m.getName().equals("equals") ? proxy == a[0] : "fuzz listener";
                }
                if (throwing) {
                    throw new IllegalStateException("a fuzz listener that throws");
                }
                return defaultOf(m.getReturnType());
            });
        }
        return pick(t); // an object made earlier (maybe closed, maybe of a closed EAL), or null
    }

    private static Object defaultOf(Class<?> t) {
        if (!t.isPrimitive() || t == void.class) {
            return null;
        }
        if (t == boolean.class) {
            return false;
        }
        if (t == long.class) {
            return 0L;
        }
        if (t == int.class) {
            return 0;
        }
        return Array.get(Array.newInstance(t, 1), 0);
    }

    private static String describe(Executable e, Object receiver, Object[] args) {
        StringBuilder b = new StringBuilder();
        b.append(e.getDeclaringClass().getSimpleName()).append('.')
                .append(e instanceof Constructor ? "<new>" : e.getName()).append('(');
        for (int i = 0; i < args.length; i++) {
            b.append(i == 0 ? "" : ", ").append(brief(args[i]));
        }
        b.append(')');
        if (receiver != null) {
            b.append(" on ").append(brief(receiver));
        }
        return b.toString();
    }

    private static String brief(Object o) {
        if (o == null) {
            return "null";
        }
        if (o.getClass().isArray()) {
            return o.getClass().getComponentType().getSimpleName() + "[" + Array.getLength(o) + "]";
        }
        String s;
        try {
            s = Proxy.isProxyClass(o.getClass()) ? "proxy" : String.valueOf(o);
        } catch (RuntimeException e) {
            s = o.getClass().getSimpleName() + "(toString threw " + e.getClass().getSimpleName() + ")";
        }
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
