package io.jvhost.eal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to start DPDK's EAL: an immutable value, made with {@link #builder()} or {@link #raw(List)}.
 *
 * <p>The defaults work on a machine without hugepages and never collide with another process:
 * <ul>
 *   <li>{@code --no-huge -m 256}: anonymous shared memory (memfd), which vhost-user can share;</li>
 *   <li>{@code --no-pci}: jvhost drives no PCI devices;</li>
 *   <li>{@code --no-telemetry}: DPDK's telemetry socket is not created (it would also warn at every
 *       start that it has no legacy callbacks); {@link Builder#telemetry(boolean)} turns it on;</li>
 *   <li>{@code --file-prefix=jvhost-<pid>}: a runtime directory of this process's own;</li>
 *   <li>{@code --lcores=0@(<cpus>)}: one lcore, the main one, allowed on every CPU the starting
 *       thread may use, so that starting EAL pins no thread to one CPU.</li>
 * </ul>
 * With {@link Builder#hugepages(boolean) hugepages(true)}, {@code --no-huge} gives way to
 * {@code --in-memory --single-file-segments}: hugepages from hugetlbfs, given back at exit, in
 * segments a vhost-user peer can map. Hugepages are used only when asked for; see
 * {@link Eal#hugepagesFree()} to decide.
 */
public final class EalConfig {
    /** Default {@code -m}, in MiB. */
    public static final int DEFAULT_MEMORY_MB = 256;

    private final boolean hugepages;
    private final int memoryMb;
    private final String lcores;
    private final String filePrefix;
    private final boolean pci;
    private final boolean telemetry;
    private final List<String> extraArgs;
    private final List<String> rawArgs;

    private EalConfig(Builder b) {
        this.hugepages = b.hugepages;
        this.memoryMb = b.memoryMb;
        this.lcores = b.lcores;
        this.filePrefix = b.filePrefix;
        this.pci = b.pci;
        this.telemetry = b.telemetry;
        this.extraArgs = List.copyOf(b.extraArgs);
        this.rawArgs = null;
    }

    private EalConfig(List<String> rawArgs) {
        this.hugepages = false;
        this.memoryMb = 0;
        this.lcores = null;
        this.filePrefix = null;
        this.pci = false;
        this.telemetry = false;
        this.extraArgs = List.of();
        this.rawArgs = List.copyOf(rawArgs);
    }

    /** @return a builder with the defaults described above */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the default configuration */
    public static EalConfig defaults() {
        return builder().build();
    }

    /**
     * A configuration that passes exactly these arguments to {@code rte_eal_init} (after argv[0]),
     * adding none of jvhost's defaults. Arguments that would make DPDK exit the process or crash
     * the JVM are still refused (see {@link Eal#start(EalConfig)}).
     *
     * @param args EAL arguments, e.g. {@code ["-l", "0", "--no-huge", "-m", "128"]}
     * @return the configuration
     */
    public static EalConfig raw(List<String> args) {
        Objects.requireNonNull(args, "args");
        for (String a : args) {
            Objects.requireNonNull(a, "EAL argument");
        }
        return new EalConfig(args);
    }

    /** @return whether hugepages are used */
    public boolean hugepages() {
        return hugepages;
    }

    /** @return {@code -m} in MiB, 0 for raw configurations */
    public int memoryMb() {
        return memoryMb;
    }

    /** @return the {@code --lcores} value, empty for "from the starting thread's CPUs" */
    public Optional<String> lcores() {
        return Optional.ofNullable(lcores);
    }

    /** @return the {@code --file-prefix}, empty for "jvhost-&lt;pid&gt;" */
    public Optional<String> filePrefix() {
        return Optional.ofNullable(filePrefix);
    }

    /** @return whether the PCI bus is scanned */
    public boolean pci() {
        return pci;
    }

    /** @return whether DPDK's telemetry socket is created */
    public boolean telemetry() {
        return telemetry;
    }

    /** @return the arguments appended verbatim after jvhost's */
    public List<String> extraArgs() {
        return extraArgs;
    }

    /** @return whether this is a {@link #raw(List)} configuration */
    public boolean isRaw() {
        return rawArgs != null;
    }

    /**
     * The EAL arguments this configuration stands for, without argv[0].
     *
     * @param startingThreadCpus CPUs of the thread that starts EAL, for the default lcore map
     * @return the arguments
     */
    public List<String> toArgs(int[] startingThreadCpus) {
        if (rawArgs != null) {
            return rawArgs;
        }
        List<String> args = new ArrayList<>();
        args.add("--lcores=" + (lcores != null ? lcores : "0@(" + cpuList(startingThreadCpus) + ")"));
        if (hugepages) {
            args.add("--in-memory");
            args.add("--single-file-segments");
        } else {
            args.add("--no-huge");
        }
        args.add("-m");
        args.add(Integer.toString(memoryMb));
        if (!pci) {
            args.add("--no-pci");
        }
        if (!telemetry) {
            args.add("--no-telemetry");
        }
        if (!hugepages) {
            // --in-memory (hugepages) needs no prefix; without it each process needs its own.
            args.add("--file-prefix=" + (filePrefix != null ? filePrefix : "jvhost-" + ProcessHandle.current().pid()));
        } else if (filePrefix != null) {
            args.add("--file-prefix=" + filePrefix);
        }
        args.addAll(extraArgs);
        return Collections.unmodifiableList(args);
    }

    private static String cpuList(int[] cpus) {
        if (cpus.length == 0) {
            return "0";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cpus.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(cpus[i]);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return rawArgs != null ? "EalConfig.raw" + rawArgs
                : "EalConfig[hugepages=" + hugepages + ", memoryMb=" + memoryMb + ", lcores=" + lcores
                        + ", filePrefix=" + filePrefix + ", pci=" + pci + ", telemetry=" + telemetry + ", extraArgs=" + extraArgs + "]";
    }

    /** Builds an {@link EalConfig}. */
    public static final class Builder {
        private boolean hugepages;
        private int memoryMb = DEFAULT_MEMORY_MB;
        private String lcores;
        private String filePrefix;
        private boolean pci;
        private boolean telemetry;
        private final List<String> extraArgs = new ArrayList<>();

        private Builder() {
        }

        /**
         * @param hugepages use hugepages ({@code --in-memory --single-file-segments}) instead of
         *     {@code --no-huge}
         * @return this
         */
        public Builder hugepages(boolean hugepages) {
            this.hugepages = hugepages;
            return this;
        }

        /**
         * @param memoryMb memory EAL reserves ({@code -m}), in MiB
         * @return this
         * @throws IllegalArgumentException if not positive
         */
        public Builder memoryMb(int memoryMb) {
            if (memoryMb <= 0) {
                throw new IllegalArgumentException("memoryMb must be positive: " + memoryMb);
            }
            this.memoryMb = memoryMb;
            return this;
        }

        /**
         * @param lcores an EAL {@code --lcores} map, e.g. {@code "0@(0-1)"}
         * @return this
         */
        public Builder lcores(String lcores) {
            this.lcores = requireNonBlank(lcores, "lcores");
            return this;
        }

        /**
         * @param filePrefix EAL's {@code --file-prefix}; must be unique among running processes
         * @return this
         */
        public Builder filePrefix(String filePrefix) {
            this.filePrefix = requireNonBlank(filePrefix, "filePrefix");
            return this;
        }

        /**
         * @param pci scan the PCI bus (off by default: {@code --no-pci})
         * @return this
         */
        public Builder pci(boolean pci) {
            this.pci = pci;
            return this;
        }

        /**
         * @param telemetry create DPDK's telemetry socket (off by default: {@code --no-telemetry})
         * @return this
         */
        public Builder telemetry(boolean telemetry) {
            this.telemetry = telemetry;
            return this;
        }

        /**
         * @param args EAL arguments appended verbatim after jvhost's, e.g. {@code --vdev ...}
         * @return this
         */
        public Builder extraArgs(List<String> args) {
            for (String a : args) {
                extraArgs.add(Objects.requireNonNull(a, "EAL argument"));
            }
            return this;
        }

        /**
         * @param args EAL arguments appended verbatim after jvhost's
         * @return this
         */
        public Builder extraArgs(String... args) {
            return extraArgs(List.of(args));
        }

        /** @return the configuration */
        public EalConfig build() {
            return new EalConfig(this);
        }

        private static String requireNonBlank(String value, String what) {
            Objects.requireNonNull(value, what);
            if (value.isBlank()) {
                throw new IllegalArgumentException(what + " must not be blank");
            }
            return value;
        }
    }
}
