package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.opsmv.db.Durations;
import dev.opsmv.migrate.AdoptionPlan;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Preflight;
import dev.opsmv.migrate.Update;
import dev.opsmv.swap.SideBySideSwap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "update", mixinStandardHelpOptions = true,
        description = {"Applies the master changelog (all pending changesets, or up to a tag).",
                "Pre-flight first: duplicate grains in claims_cabinet and INVALID bundle indexes; "
                        + "duplicates stop the update before any change while the grain index is still to be built.",
                "On a database that already holds the runbooks' objects: the adoption plan per object (adopt identical, "
                        + "alter in place, create); an MV or view that differs from the bundle, or an index name taken by "
                        + "another index, stops the update before any change (exit 1) with the differences."})
final class UpdateCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceSchemaOption source;

    @Mixin
    Output output;

    @Option(names = "--to-tag", paramLabel = "TAG", description = "Stop after the changeset that sets this tag (a tag of the changelog: opsmv-empty, v1.0, ...).")
    String toTag;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = Changelog.DEFAULT_LOCK_TIMEOUT,
            description = "How long DDL may wait for a lock before it gives up, e.g. 500ms, 5s, 2min (default ${DEFAULT-VALUE}).")
    Duration lockTimeout;

    @Option(names = "--replace-differing",
            description = "Rebuild each materialized view whose definition differs from the bundle's with the bundle's definition "
                    + "(beside the old one, swapped in under the lock timeout); the original's definition, indexes, owner, grants "
                    + "and comments are recorded, and rollback rebuilds it.")
    boolean replaceDiffering;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = output.text();
        try (Connection c = connection.openPrimary()) {
            Update.Result result;
            try {
                result = new Update(connection.spec(), c, lockTimeout, source.value(), source.parameter()).run(toTag, replaceDiffering, new Printed(out));
            } catch (Update.Stopped stopped) {
                throw new CommandFailure(stopped.usage() ? ExitCode.USAGE : ExitCode.PROBLEM, stopped.getMessage());
            }
            result.adopted().forEach(out::println);
            out.println("update: done, " + result.applied() + " changeset(s) applied; last tag " + result.lastTag().orElse("(none)"));
            output.doc().put("applied", result.applied()).put("last_tag", result.lastTag().orElse(null));
        }
        return output.done(ExitCode.OK);
    }

    /** What update found, as text lines and in the JSON document. */
    private final class Printed implements Update.Progress {
        private final PrintWriter out;

        Printed(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void cleared(String line) {
            command.commandLine().getErr().println(line);
        }

        @Override
        public void preflight(Preflight.Report report, String claimsTable) {
            Reports.duplicates(out, "pre-flight: ", claimsTable, report.duplicates());
            Reports.invalidIndexes(out, "pre-flight: ", report.invalidIndexes());
            output.doc().put("database", connection.spec().describe()).put("to_tag", toTag);
            Reports.duplicatesJson(output.doc().putObject("pre_flight"), report.duplicates());
            ((ObjectNode) output.doc().get("pre_flight")).set("invalid_indexes", Output.tree(report.invalidIndexes()));
        }

        @Override
        public void plan(AdoptionPlan plan) {
            Reports.plan(out, "plan: ", plan, true);
            output.doc().set("plan", Reports.planJson(plan));
        }

        @Override
        public void replacing() {
            out.flush();
        }

        @Override
        public void replaced(List<SideBySideSwap.Swapped> replaced) {
            for (var swapped : replaced) {
                output.doc().withArray("replaced").addObject().put("mv", swapped.schema() + "." + swapped.name())
                        .put("rows", swapped.rows())
                        .put("restored_by", "rollback: the original is rebuilt from its recorded definition");
                out.println("replaced: " + swapped.schema() + "." + swapped.name() + " rebuilt with the bundle's definition ("
                        + swapped.rows() + " rows, built in " + swapped.buildMillis() + " ms, swapped in " + swapped.swapMillis()
                        + " ms); the original's definition and everything attached to it are recorded: rollback rebuilds it");
            }
        }

        @Override
        public void applying() {
            out.println("update: applying " + (toTag == null ? "all pending changesets" : "changesets up to tag " + toTag)
                    + " to " + connection.spec().describe() + " (lock timeout " + Durations.setting(lockTimeout) + ")");
            out.flush();
        }
    }
}
