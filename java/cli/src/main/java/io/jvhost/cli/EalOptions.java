package io.jvhost.cli;

import io.jvhost.eal.EalConfig;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** EAL options shared by the commands that start EAL; raw EAL arguments follow {@code --}. */
final class EalOptions {
    @Option(names = "--hugepages", description = "use hugepages (--in-memory --single-file-segments) instead of --no-huge")
    boolean hugepages;

    @Option(names = "--memory", paramLabel = "MiB", description = "EAL memory, -m (default: ${DEFAULT-VALUE})")
    int memoryMb = EalConfig.DEFAULT_MEMORY_MB;

    @Parameters(paramLabel = "EAL-ARGS", description = "EAL arguments after --, passed verbatim")
    List<String> ealArgs = new ArrayList<>();

    EalConfig toConfig() {
        if (memoryMb <= 0) {
            throw new IllegalArgumentException("--memory must be positive: " + memoryMb);
        }
        return EalConfig.builder().hugepages(hugepages).memoryMb(memoryMb).extraArgs(ealArgs).build();
    }
}
