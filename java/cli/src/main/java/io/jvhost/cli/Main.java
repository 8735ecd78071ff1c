package io.jvhost.cli;

import io.jvhost.Jvhost;
import io.jvhost.NativeLibraryLoadError;
import java.io.PrintWriter;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;

/** The {@code jvhost} command line: {@code java -jar jvhost.jar <command>} or {@code scripts/jvhost <command>}. */
@Command(name = "jvhost", mixinStandardHelpOptions = true, versionProvider = Main.Versions.class,
        description = "vhost-user ports driven from Java through DPDK's librte_vhost.",
        subcommands = {DemoCommand.class, ServeCommand.class, DoctorCommand.class, InfoCommand.class, IotlbCommand.class,
            CommandLine.HelpCommand.class, AutoComplete.GenerateCompletion.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "print stack traces of errors")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * @param args the command line
     * @return the exit status
     */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            Main main = commandLine.getCommandSpec().root().userObject() instanceof Main m ? m : null;
            if (main != null && main.verbose) {
                e.printStackTrace(err);
            } else {
                String message = e.getMessage() != null ? e.getMessage() : e.toString();
                err.println("jvhost: " + message + " (--verbose for details)");
            }
            err.flush();
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        cl.setParameterExceptionHandler((e, a) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("jvhost: " + e.getMessage() + " (try '" + e.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help')");
            err.flush();
            return 2;
        });
        try {
            return cl.execute(args);
        } catch (NativeLibraryLoadError e) {
            // an Error, so picocli lets it through: it is the user's machine, not a bug
            System.err.println("jvhost: " + e.getMessage());
            return 1;
        }
    }

    public static void main(String[] args) {
        // One line per log record, e.g. "WARNING dpdk.lib.eal: EAL: ...", unless the user set a format.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %3$s: %5$s%6$s%n");
        }
        EalOptions.quietDefaults();
        System.exit(execute(args));
    }

    /** {@code --version}: jvhost, DPDK and Java. */
    static final class Versions implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String dpdk = Jvhost.isAvailable() ? Jvhost.dpdkVersion()
                    : "unavailable (" + Jvhost.unavailabilityCause().getMessage() + ")";
            return new String[] {
                "jvhost " + Jvhost.version(),
                dpdk,
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")",
            };
        }
    }
}
