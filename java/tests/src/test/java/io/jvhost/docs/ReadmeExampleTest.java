package io.jvhost.docs;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/** The Java examples in README.md compile against the current API. */
class ReadmeExampleTest {
    /**
     * A README block as a class whose main method is the block, with the imports the README's
     * examples assume.
     *
     * @param name the class name
     * @param body the block
     * @return the source
     */
    static String source(String name, String body) {
        return "import io.jvhost.eal.*;\nimport io.jvhost.mbuf.*;\nimport io.jvhost.vhost.*;\n"
                + "import io.jvhost.ethdev.*;\nimport io.jvhost.log.*;\nimport io.jvhost.frontend.*;\n"
                + "import io.jvhost.loop.*;\nimport io.jvhost.metrics.*;\nimport io.jvhost.serve.QueueCounters;\n"
                + "import java.net.InetSocketAddress;\nimport java.nio.file.Path;\nimport java.time.Duration;\n"
                + "import java.util.List;\n"
                + "public class " + name + " {\n  public static void main(String[] args) throws Exception {\n"
                + body + "\n  }\n}\n";
    }

    @Test
    void javaExamplesCompile() throws Exception {
        Path readme = Path.of(System.getProperty("jvhost.basedir", "."), "README.md");
        if (!Files.exists(readme)) {
            readme = Path.of("README.md");
        }
        String text = Files.readString(readme);
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(text);
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        assertThat("README has Java examples", blocks.size(), greaterThan(0));
        Path dir = Files.createTempDirectory("readme-example");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        for (int i = 0; i < blocks.size(); i++) {
            String body = blocks.get(i).replace("...", "// ...");
            String source = source("Example" + i, body);
            Path file = dir.resolve("Example" + i + ".java");
            Files.writeString(file, source);
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = javac.run(null, null, err, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
                    file.toString());
            assertThat("README example " + i + ":\n" + source + "\n" + err.toString(StandardCharsets.UTF_8), rc, equalTo(0));
        }
    }
}
