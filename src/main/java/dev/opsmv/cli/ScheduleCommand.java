package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.refresh.RefreshMode;
import dev.opsmv.refresh.PgCron;
import dev.opsmv.refresh.RefreshPlan;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "schedule", mixinStandardHelpOptions = true,
        description = {"Registers a pg_cron job that refreshes the MVs in dependency order "
                + "(CALL ops.opsmv_refresh_scheduled(...), from changelog/optional/refresher-role.yaml).",
                "Exit codes: 0 scheduled (or printed); 2 bad command line or unknown MV; "
                        + "3 pg_cron or the procedure is missing (nothing scheduled), or a database error."})
final class ScheduleCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--pg-cron", paramLabel = "CRON", required = true, description = "Cron expression, e.g. '0 * * * *'.")
    String cron;

    @Option(names = "--name", paramLabel = "JOB", defaultValue = "opsmv-refresh",
            description = "pg_cron job name (scheduling the same name again replaces the job). Default ${DEFAULT-VALUE}.")
    String jobName;

    @Parameters(paramLabel = "MV", arity = "0..*", description = "MVs (default: --all, every MV of ops.mv_refresh_policy).")
    List<String> names = new ArrayList<>();

    @Option(names = "--cascade", description = "Also every MV downstream of the named ones.")
    boolean cascade;

    @Option(names = "--dry-run", description = "Print the cron.schedule statement and register nothing.")
    boolean dryRun;

    @Override
    public Integer call() throws Exception {
        if (cron.isBlank() || cron.trim().split("\\s+").length < 5 && !cron.trim().matches("\\d+ seconds?")) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "'" + cron + "' is not a cron expression: five fields, e.g. '0 * * * *'");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Connection c = connection.openPrimary("opsmv-schedule")) {
            List<String> order;
            try {
                order = RefreshPlan.build(c, names, names.isEmpty(), cascade, RefreshMode.AUTO).order();
            } catch (IllegalStateException cycle) {
                throw new CommandFailure(ExitCode.PROBLEM, cycle.getMessage());
            }
            if (dryRun) {
                out.println(PgCron.scheduleStatement(jobName, cron, order) + ";");
                return ExitCode.OK;
            }
            try {
                long id = PgCron.schedule(c, jobName, cron, order);
                out.println("scheduled pg_cron job " + id + " '" + jobName + "' (" + cron + "): " + PgCron.jobCommand(order));
            } catch (PgCron.Unavailable e) {
                throw new CommandFailure(ExitCode.DATABASE, e.getMessage());
            }
        }
        return ExitCode.OK;
    }
}
