package dev.opsmv.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;

import dev.opsmv.retention.Prune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Deletes the refresh log's rows older than each MV's retention_days (ops.mv_refresh_policy, release v1.7; "
                + "90 days for an MV it does not list), in batches of " + Prune.BATCH + ", each under the MV's refresh lock. "
                + "Never an MV's newest OK row, its newest row of any other status, nor a RUNNING row. Every `refresh` run "
                + "ends with the same prune (docs/REFRESHING.md#retention).",
                "Exit codes: 0 done; 2 bad command line or --archive-to; 3 cannot connect or a statement failed; "
                        + "5 an MV was busy or the time budget ran out (the rest goes next time)."})
final class PruneCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--dry-run", description = "Count the rows that would go, per MV; change nothing.")
    boolean dryRun;

    @Option(names = "--archive-to", paramLabel = "TABLE",
            description = "Move the rows to TABLE (schema.table, or a table of schema ops) instead of deleting them; created LIKE "
                    + "ops.mv_refresh_log when missing, refused when it exists with other columns.")
    String archiveTo;

    @Option(names = "--budget", paramLabel = "D", defaultValue = "60s",
            description = "Stop between batches after D (default 60s); the rest goes at the next prune.")
    Duration budget;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        connection.requirePrimary();
        Prune.Result r;
        try {
            r = Prune.run(connection.spec(), new Prune.Options(dryRun, archiveTo, budget), line -> {
                out.println(line);
                out.flush();
            });
        } catch (Prune.BadArchive e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        out.println("prune: " + r.rows() + " row(s) of ops.mv_refresh_log " + (dryRun ? "would go" : archiveTo != null ? "archived" : "deleted")
                + " (" + r.outcomes().size() + " MV(s), " + r.millis() + " ms" + (r.vacuumed() ? ", the log vacuumed" : "") + ")"
                + (r.budgetSpent() ? "; the time budget ran out, the rest goes next time" : ""));
        return r.anyBusy() || r.budgetSpent() ? ExitCode.BUSY : ExitCode.OK;
    }
}
