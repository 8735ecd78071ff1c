package io.jvhost.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Other JDKs on this machine, for tests that must run on a newer one than the test JVM's. */
public final class Jdks {
    private static final Pattern VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE);

    private Jdks() {
    }

    /**
     * @param minFeature e.g. 24
     * @return the java launcher of this JVM if it is that new, else of the newest such JDK under
     *     /usr/lib/jvm (by its {@code release} file), else empty
     */
    public static Optional<Path> java(int minFeature) {
        if (Runtime.version().feature() >= minFeature) {
            return Optional.of(Path.of(System.getProperty("java.home"), "bin", "java"));
        }
        try (Stream<Path> homes = Files.list(Path.of("/usr/lib/jvm"))) {
            return homes.filter(h -> feature(h) >= minFeature && Files.isExecutable(h.resolve("bin/java")))
                    .max(Comparator.comparingInt(Jdks::feature)).map(h -> h.resolve("bin/java"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int feature(Path home) {
        try {
            Matcher m = VERSION.matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
