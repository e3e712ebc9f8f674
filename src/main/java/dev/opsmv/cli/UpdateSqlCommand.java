package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.AdoptionPlan;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.migrate.Preflight;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "update-sql", mixinStandardHelpOptions = true,
        description = {"Prints the SQL that update would run, for review (changes nothing in the bundle's objects).",
                "Duplicate grains stop it as they would stop update (exit 1); the changelog's SQL checks are in the script as guards."})
final class UpdateSqlCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceSchemaOption source;

    @Mixin
    Output output;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = Changelog.DEFAULT_LOCK_TIMEOUT,
            description = "Lock timeout written into the SQL (default ${DEFAULT-VALUE}).")
    Duration lockTimeout;

    @Override
    public Integer call() throws Exception {
        try (Connection c = connection.open()) {
            PrintWriter out = command.commandLine().getOut();
            Migrator migrator = Migrator.bundle(c, lockTimeout, source.parameter());
            Preflight.Duplicates duplicates = new Preflight(c, source.value(), migrator).duplicateGrains();
            if (duplicates.any() && migrator.pendingChangeSets().stream().anyMatch(id -> id.contains("::" + Changelog.GRAIN_CHANGESET_ID + "::"))) {
                // the grain changeset's precondition, evaluated for the script as Liquibase evaluates it for update
                throw new CommandFailure(ExitCode.PROBLEM, "precondition failed: Duplicate claims: " + duplicates.total()
                        + " driver_id x milestone_value grain(s) of " + Preflight.CLAIMS_MV + " would hold more than one claim, "
                        + "so the script would stop before the grain index; list them with `opsmv check-duplicates`, remove the extra claims, then generate the script again");
            }
            java.io.StringWriter planText = new java.io.StringWriter();
            AdoptionPlan plan = AdoptionPlan.read(c, migrator);
            Reports.plan(new PrintWriter(planText), "-- opsmv plan: ", plan, true);
            if (plan.meetsExistingObjects()) {
                // a script cannot decide at run time which changesets to mark ran instead of running
                planText.write("-- opsmv plan: adoption happens in `opsmv update` or `liquibase update`; this script is for review,"
                        + " applied with psql it would stop at the first object that already exists\n");
            }
            if (output.json()) {
                // the script is the document's "sql"; the plan stays text, on stderr
                output.text().print(planText);
                output.text().flush();
                var sql = new java.io.ByteArrayOutputStream();
                migrator.updateSql(sql);
                output.doc().put("database", connection.spec().describe());
                output.doc().set("pending", Output.tree(migrator.pendingChangeSets()));
                output.doc().set("plan", Reports.planJson(plan));
                output.doc().put("sql", sql.toString(java.nio.charset.StandardCharsets.UTF_8));
                return output.done(ExitCode.OK);
            }
            out.print(planText);
            Reports.script(out, migrator::updateSql);
        }
        return ExitCode.OK;
    }
}
