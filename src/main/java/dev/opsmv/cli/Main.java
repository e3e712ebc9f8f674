package dev.opsmv.cli;

import java.io.PrintWriter;

import dev.opsmv.health.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine;

@Command(name = "opsmv",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Deploys, refreshes, checks and serves the ops materialized views.",
        footer = {"", "Connection: --url, else DATABASE_URL, else PGHOST/PGPORT/PGDATABASE/PGUSER; password from the URL, PGPASSWORD or ~/.pgpass."},
        exitCodeListHeading = "%nExit codes (every command but health; docs/COMMANDS.md#exit-codes):%n",
        subcommands = {
                UpdateCommand.class,
                UpdateSqlCommand.class,
                StatusCommand.class,
                ImportCommand.class,
                ReleaseLocksCommand.class,
                TagCommand.class,
                RollbackCommand.class,
                RollbackSqlCommand.class,
                CheckDuplicatesCommand.class,
                HealthCommand.class,
                VerifyCommand.class,
                ServeCommand.class,
                PruneCommand.class,
                ReportCommand.class,
                RefreshCommand.class,
                ReindexCommand.class,
                ScheduleCommand.class,
                FixtureCommand.class,
                DemoCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    // Liquibase logs every statement at INFO and each failure as a multi-line SEVERE through
    // java.util.logging; the runner prints its own progress and one line per failure, so Liquibase's
    // log is off unless OPSMV_LIQUIBASE_LOG names a level (e.g. INFO) for troubleshooting.
    // Held in a field: JUL keeps loggers weakly.
    private static final java.util.logging.Logger LIQUIBASE_LOG = quiet("liquibase", System.getenv("OPSMV_LIQUIBASE_LOG"));

    private static java.util.logging.Logger quiet(String name, String level) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        java.util.logging.Level l = java.util.logging.Level.OFF;
        if (level != null && !level.isBlank()) {
            try {
                l = java.util.logging.Level.parse(level.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException ignored) {
                l = java.util.logging.Level.WARNING;
            }
        }
        logger.setLevel(l);
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
        CommandLine cli = commandLine();
        cli.setOut(out);
        cli.setErr(err);
        cli.setExitCodeExceptionMapper(Failures::exitCode);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("opsmv: " + Failures.oneLine(ex));
            Output.failed(commandLine, Failures.exitCode(ex), Failures.oneLine(ex));
            return Failures.exitCode(ex);
        });
        cli.setParameterExceptionHandler((ex, args1) -> {
            CommandLine c = ex.getCommandLine();
            // health is a Nagios plugin: there 2 means CRITICAL, so its usage errors are UNKNOWN (3).
            boolean plugin = c.getCommand() instanceof HealthCommand;
            c.getErr().println("opsmv: " + (plugin ? "UNKNOWN: " : "") + ex.getMessage()
                    + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            Output.failed(c, plugin ? Level.UNKNOWN.exitCode() : ExitCode.USAGE, ex.getMessage());
            return plugin ? Level.UNKNOWN.exitCode() : ExitCode.USAGE;
        });
        return cli.execute(args);
    }

    /** The command line with every subcommand, as run() executes it and as --help prints it (the docs' test walks it). */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        // one type and one grammar for every timeout and interval of every command (a bad value exits 2);
        // the options where 0 means "none" name ZeroOrDurationConverter themselves
        cli.registerConverter(java.time.Duration.class, new DurationConverter());
        cli.getCommandSpec().usageMessage().exitCodeList(ExitCode.helpList());
        return cli;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // spec's CommandLine, not a new one: the message must reach the writer run() was given
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            // what a bug report needs: the engine and the driver decide how a changelog runs
            return new String[] {
                    "opsmv " + (v == null ? "dev" : v),
                    "Liquibase " + liquibase.util.LiquibaseUtil.getBuildVersion(),
                    "PostgreSQL JDBC " + org.postgresql.util.DriverInfo.DRIVER_VERSION,
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor")
                            + ", " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")"};
        }
    }
}
