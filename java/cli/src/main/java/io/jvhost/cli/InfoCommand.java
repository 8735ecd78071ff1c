package io.jvhost.cli;

import io.jvhost.Jvhost;
import io.jvhost.eal.Eal;
import io.jvhost.log.DpdkLog;
import io.jvhost.log.DpdkLogLevel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** Starts EAL and prints what jvhost runs on. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Start DPDK's EAL and print versions and the configuration.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    EalOptions eal;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        DpdkLog.setLevel(DpdkLogLevel.WARNING);
        try (Eal running = Eal.start(eal.toConfig())) {
            out.println("jvhost " + Jvhost.version());
            out.println(running.dpdkVersion());
            out.println("Java " + System.getProperty("java.version"));
            out.println("EAL arguments: " + String.join(" ", running.arguments()));
            out.println("lcores: " + running.lcoreCount() + " (main " + running.mainLcore() + ")");
            out.printf("hugepages free: %d MiB%n", Eal.hugepagesFree() >> 20);
        }
        out.flush();
        return 0;
    }
}
