package io.jvhost.docs;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import io.jvhost.frontend.IommuMode;
import io.jvhost.frontend.VirtioNetFrontend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * An application that depends on jvhost as a library, as the README's "Use it from Maven" section
 * shows: {@code examples/consumer}, built offline from the local Maven repository against the
 * jvhost-core this build installed, its dependency tree free of the CLI's and the frontend's
 * dependencies, and its Main (the README's API example, line for line) run against a real
 * frontend (jvhost's Java frontend with a virtual IOMMU), every frame echoed byte-exact.
 *
 * <p>It needs {@code mvn install} (the core must be in the local repository): under {@code mvn
 * verify} it is skipped unless {@code -Djvhost.test.requireConsumer=true}, which CI sets.
 */
class ConsumerProjectIT {
    private static final Path TOP = Path.of(System.getProperty("jvhost.basedir", "../..")).toAbsolutePath().normalize();
    private static final String VERSION = System.getProperty("jvhost.version");
    private static final Path LOCAL_REPO = Path.of(System.getProperty("jvhost.localRepository",
            System.getProperty("user.home") + "/.m2/repository"));
    private static final int FRAMES = 400;

    @Test
    void aConsumerProjectBuildsOfflineDependsOnTheCoreOnlyAndRunsTheReadmeExample() throws Exception {
        requireInstalledCore();
        Path project = Files.createTempDirectory("jvhost-consumer");
        copyTree(TOP.resolve("examples/consumer"), project);

        String build = maven(project, "package", "dependency:build-classpath", "-Dmdep.outputFile=target/classpath",
                "dependency:tree", "-DoutputFile=target/tree.txt");
        String tree = Files.readString(project.resolve("target/tree.txt"));
        assertThat(build, tree, containsString("io.jvhost:jvhost-core:jar:" + VERSION + ":compile"));
        assertThat(tree, not(containsString("picocli")));
        assertThat(tree, not(containsString("junixsocket")));
        assertThat(tree, not(containsString("jvhost-frontend")));
        assertThat("the consumer has exactly one dependency, the core: " + tree,
                tree.lines().filter(l -> l.contains(":jar:")).count(), equalTo(2L)); // itself and the core

        assertThat("examples/consumer's Main is the README's API example",
                normalize(readmeRegion(project.resolve("src/main/java/com/example/consumer/Main.java"))),
                equalTo(normalize(readmeApiExample())));

        Path dir = Files.createTempDirectory("jvhost-consumer-run");
        Path socket = dir.resolve("vhost0.sock");
        String classpath = project.resolve("target/classes") + ":" + Files.readString(project.resolve("target/classpath")).trim();
        Path out = dir.resolve("out.txt");
        Process app = new ProcessBuilder(System.getProperty("jvhost.test.java", "java"), "-cp", classpath,
                "com.example.consumer.Main", socket.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            awaitFile(socket, app, out);
            List<byte[]> sent = new ArrayList<>();
            List<byte[]> got = new ArrayList<>();
            try (VirtioNetFrontend dev = VirtioNetFrontend.builder(socket).iommu(IommuMode.QEMU)
                    .timeout(Duration.ofSeconds(20)).open()) {
                exchange(dev, sent, got);
            }
            assertThat("frames echoed by the consumer", got.size(), equalTo(FRAMES));
            for (int i = 0; i < FRAMES; i++) {
                assertThat("frame " + i + " byte-exact", Arrays.equals(got.get(i), sent.get(i)), equalTo(true));
            }
            assertThat("the consumer ends when its frontend leaves: " + Files.readString(out),
                    app.waitFor(60, TimeUnit.SECONDS), equalTo(true));
            String output = Files.readString(out);
            assertThat(output, app.exitValue(), equalTo(0));
            assertThat(output, containsString("up: VhostDevice"));
        } finally {
            app.destroyForcibly();
            app.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void requireInstalledCore() throws IOException {
        Path built = TOP.resolve("java/core/target/jvhost-core-" + VERSION + ".jar");
        Path installed = LOCAL_REPO.resolve("io/jvhost/jvhost-core/" + VERSION + "/jvhost-core-" + VERSION + ".jar");
        boolean same = Files.isRegularFile(built) && Files.isRegularFile(installed)
                && Files.mismatch(built, installed) == -1;
        String why = "jvhost-core " + VERSION + " of this build is not in the local repository " + LOCAL_REPO
                + " (run mvn install, not verify)";
        if (Boolean.getBoolean("jvhost.test.requireConsumer")) {
            assertThat(why, same, equalTo(true));
        }
        Assumptions.assumeTrue(same, why);
    }

    /** Runs Maven offline in {@code project}, with the local repository this build uses. */
    private static String maven(Path project, String... goals) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mvn", "-o", "-B", "-Dstyle.color=never",
                "-Dmaven.repo.local=" + LOCAL_REPO, "-Djvhost.version=" + VERSION));
        cmd.addAll(List.of(goals));
        Path log = project.resolve("build.log");
        Process p = new ProcessBuilder(cmd).directory(project.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        String text = Files.readString(log);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat("mvn " + String.join(" ", goals) + " in " + project + ":\n" + text, done && p.exitValue() == 0,
                equalTo(true));
        return text;
    }

    private static void exchange(VirtioNetFrontend dev, List<byte[]> sent, List<byte[]> got) {
        byte[] buf = new byte[dev.maxFrameSize() + 64];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((sent.size() < FRAMES || got.size() < FRAMES) && System.nanoTime() < deadline) {
            boolean progress = false;
            if (sent.size() < FRAMES) {
                byte[] f = frame(sent.size());
                if (dev.send(0, f, 0, f.length)) {
                    sent.add(f);
                    progress = true;
                }
            }
            int n;
            while ((n = dev.receive(0, buf)) >= 0) {
                got.add(Arrays.copyOf(buf, n));
                progress = true;
            }
            if (!progress) {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /** Unicast frames of 60 to 1514 bytes whose bytes depend on their number. */
    private static byte[] frame(int seq) {
        byte[] f = new byte[60 + (seq * 37) % 1455];
        f[0] = 0x02;
        f[5] = 0x01;
        f[6] = 0x02;
        f[11] = 0x02;
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        for (int i = 14; i < f.length; i++) {
            f[i] = (byte) (seq * 31 + i);
        }
        return f;
    }

    private static String readmeApiExample() throws IOException {
        String readme = Files.readString(TOP.resolve("README.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        while (m.find()) {
            if (m.group(1).contains("VhostUserPort.builder") && m.group(1).contains("dev.dequeue(0, pool, batch)")) {
                return m.group(1);
            }
        }
        throw new AssertionError("README.md has no API example with VhostUserPort.builder and dequeue");
    }

    private static String readmeRegion(Path main) throws IOException {
        String text = Files.readString(main);
        int begin = text.indexOf('\n', text.indexOf("// README:begin")) + 1;
        int end = text.lastIndexOf('\n', text.indexOf("// README:end"));
        return text.substring(begin, end);
    }

    /** Each line without its leading blanks, blank lines dropped. */
    private static String normalize(String code) {
        return code.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining("\n"));
    }

    private static void awaitFile(Path socket, Process app, Path out) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(socket)) {
            if (!app.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("the consumer did not open " + socket + ":\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            Thread.sleep(50);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path rel = from.relativize(p);
                if (rel.startsWith("target")) {
                    continue;
                }
                Path dst = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(p, dst);
                }
            }
        }
    }
}
