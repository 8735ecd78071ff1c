package io.jvhost.architecture;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layers of the core, checked on its sources: {@code io.jvhost.internal} (and anything under
 * it) is the bottom layer and never depends on a public package ({@code io.jvhost},
 * {@code io.jvhost.eal}, {@code .log}, {@code .mbuf}, {@code .vhost}, ...), neither by an import
 * nor by a fully qualified name in code. Comments and string literals do not count: Javadoc may
 * link up to the public class that wraps an internal one.
 */
class ArchitectureTest {
    /** A dotted name starting with io.jvhost. (spaces allowed around the dots, as Java does). */
    private static final Pattern JVHOST_NAME =
            Pattern.compile("\\bio\\s*\\.\\s*jvhost\\s*\\.\\s*([A-Za-z_$][\\w$]*)((?:\\s*\\.\\s*[A-Za-z_$*][\\w$]*)*)");
    private static final Pattern PACKAGE_DECLARATION = Pattern.compile("\\bpackage\\s+[\\w.\\s]+;");

    private static Path mainSources() {
        String base = System.getProperty("jvhost.basedir");
        assertThat("system property jvhost.basedir (surefire sets it to the repository's top)", base != null,
                equalTo(true));
        return Path.of(base, "java", "core", "src", "main", "java");
    }

    @Test
    void internalImportsNoPublicPackage() throws IOException {
        Path internal = mainSources().resolve(Path.of("io", "jvhost", "internal"));
        // the JDK 22+ part (META-INF/versions/22) is internal too
        Path internal22 = mainSources().resolveSibling("java22").resolve(Path.of("io", "jvhost", "internal"));
        List<Path> files;
        try (Stream<Path> walk = Stream.concat(Files.walk(internal), Files.walk(internal22))) {
            files = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertThat("the JDK 22+ sources are checked", files.contains(internal22.resolve("FfmMemory.java")), equalTo(true));
        assertThat("Java files under " + internal, files.size(), greaterThan(5));
        List<String> violations = new ArrayList<>();
        for (Path f : files) {
            for (String v : violations(Files.readString(f, StandardCharsets.UTF_8))) {
                violations.add(mainSources().getParent().relativize(f) + ": " + v);
            }
        }
        assertThat("io.jvhost.internal must not depend on a public package; define what it needs in internal"
                + " (an interface the public side implements, an error the public side wraps)", violations, empty());
    }

    /** The checker itself: it sees what the layering forbids, and only that. */
    @Test
    void theCheckFindsWhatItMustAndNothingElse() {
        String bad = String.join("\n",
                "package io.jvhost.internal;",
                "import io.jvhost.log.DpdkLog;",
                "import static io.jvhost.eal.Eal.start;",
                "import io.jvhost.NativeLibraryLoadError;",
                "class X { Object o = io.jvhost.vhost.VhostUserPort.class; Object p = io.jvhost .Jvhost.version(); }");
        assertThat(violations(bad), equalTo(List.of(
                "io.jvhost.log.DpdkLog",
                "io.jvhost.eal.Eal.start",
                "io.jvhost.NativeLibraryLoadError",
                "io.jvhost.vhost.VhostUserPort.class",
                "io.jvhost.Jvhost.version")));
        String good = String.join("\n",
                "package io.jvhost.internal;",
                "import io.jvhost.internal.NativeLoader;",
                "import static io.jvhost.internal.UnsafeMemory.UNSAFE;",
                "/** Wrapped by {@link io.jvhost.eal.Eal}. */",
                "class X { // see io.jvhost.log.DpdkLog",
                "  String s = \"io.jvhost.log.DpdkLog \\\" io.jvhost.eal\"; char c = '\"'; Object o = io.jvhost.internal.Upcalls.class;",
                "  /* io.jvhost.Jvhost */ String r = \"io/jvhost/native/\";",
                "}");
        assertThat(violations(good), empty());
    }

    /**
     * @param source a Java compilation unit
     * @return every name of a public io.jvhost package it uses in code, normalised (no spaces)
     */
    static List<String> violations(String source) {
        String code = PACKAGE_DECLARATION.matcher(codeOnly(source)).replaceFirst("");
        List<String> found = new ArrayList<>();
        Matcher m = JVHOST_NAME.matcher(code);
        while (m.find()) {
            if (!m.group(1).equals("internal")) {
                found.add(m.group().replaceAll("\\s+", ""));
            }
        }
        return found;
    }

    /** @return the source with comments, string, text block and char literals blanked out */
    static String codeOnly(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (s.startsWith("//", i)) {
                int end = s.indexOf('\n', i);
                i = end < 0 ? s.length() : end;
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? s.length() : end + 2;
                out.append(' ');
            } else if (s.startsWith("\"\"\"", i)) {
                int end = s.indexOf("\"\"\"", i + 3);
                while (end > 0 && s.charAt(end - 1) == '\\') {
                    end = s.indexOf("\"\"\"", end + 1);
                }
                i = end < 0 ? s.length() : end + 3;
                out.append("\"\"");
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < s.length() && s.charAt(j) != c && s.charAt(j) != '\n') {
                    j += s.charAt(j) == '\\' ? 2 : 1;
                }
                i = j + 1;
                out.append(c).append(c);
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
