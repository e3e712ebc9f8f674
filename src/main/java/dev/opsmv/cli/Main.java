package dev.opsmv.cli;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "opsmv",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Deploys, refreshes, checks and serves the ops materialized views.",
        subcommands = {
                UpdateCommand.class,
                RefreshCommand.class,
                ScheduleCommand.class,
                FixtureCommand.class,
                DemoCommand.class,
                CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    // Liquibase logs every statement at INFO through java.util.logging; the runner prints its own
    // progress, so keep only warnings. Held in a field: JUL keeps loggers weakly.
    private static final java.util.logging.Logger LIQUIBASE_LOG = quiet("liquibase");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.WARNING);
        return logger;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit code (tests call this in-process). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExitCodeExceptionMapper(Failures::exitCode);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("opsmv: " + Failures.oneLine(ex));
            return Failures.exitCode(ex);
        });
        cli.setParameterExceptionHandler((ex, args1) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("opsmv: " + ex.getMessage() + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return ExitCode.USAGE;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"opsmv " + (v == null ? "dev" : v)};
        }
    }
}
