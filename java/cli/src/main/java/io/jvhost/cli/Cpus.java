package io.jvhost.cli;

import io.jvhost.eal.Eal;
import java.util.Arrays;
import java.util.stream.Collectors;

/** CPU options checked against the CPUs this process may use, before anything starts. */
final class Cpus {
    private Cpus() {
    }

    /**
     * @param option the option's name, for the message
     * @param cpus the CPUs asked for
     * @throws IllegalArgumentException naming the CPUs that exist for this process, if one asked for is not among them
     */
    static void requireUsable(String option, int[] cpus) {
        int[] usable = Eal.currentThreadCpus(); // sched_getaffinity: taskset and cgroup cpusets included
        int[] missing = Arrays.stream(cpus).filter(c -> Arrays.binarySearch(usable, c) < 0).toArray();
        if (missing.length > 0) {
            throw new IllegalArgumentException(option + " " + join(cpus) + ": CPU" + (missing.length == 1 ? " " : "s ") + join(missing)
                    + (missing.length == 1 ? " is" : " are") + " not usable by this process, which may use CPUs "
                    + join(usable));
        }
    }

    private static String join(int[] cpus) {
        return Arrays.stream(cpus).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }
}
