package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.AdoptionPlan;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.ChangelogLock;
import dev.opsmv.migrate.Deployment;
import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Preflight;
import dev.opsmv.migrate.ReplaceDiffering;
import dev.opsmv.swap.SideBySideSwap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

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
    String lockTimeout;

    @Option(names = "--replace-differing",
            description = "Rebuild each materialized view whose definition differs from the bundle's with the bundle's definition "
                    + "(beside the old one, swapped in under the lock timeout); the original's definition, indexes, owner, grants "
                    + "and comments are recorded, and rollback rebuilds it.")
    boolean replaceDiffering;

    @Override
    public Integer call() throws Exception {
        Changelog.checkLockTimeout(lockTimeout);
        PrintWriter out = output.text();
        try (Connection c = connection.openPrimary()) {
            Deployment deployment = new Deployment(connection.spec(), c, lockTimeout, source.parameter());
            if (toTag != null) {
                List<String> tags = deployment.migrator().changelogTags();
                if (!tags.contains(toTag)) {
                    throw new CommandFailure(ExitCode.USAGE, "unknown tag '" + toTag + "' for --to-tag: the changelog declares " + String.join(", ", tags));
                }
            }
            History history = new History(c);
            // before the pre-flight: a lock left by a dead runner is cleared (one line on stderr), any other holder stops here (exit 5)
            ChangelogLock.bundle(c).requireFree(command.commandLine().getErr()::println);

            Preflight.Report report = new Preflight(c, source.value(), deployment.migrator()).run();
            String table = Preflight.CLAIMS_MV + " (as computed from " + source.value() + ".claims_cabinet)";
            Reports.duplicates(out, "pre-flight: ", table, report.duplicates());
            Reports.invalidIndexes(out, "pre-flight: ", report.invalidIndexes());
            output.doc().put("database", connection.spec().describe()).put("to_tag", toTag);
            Reports.duplicatesJson(output.doc().putObject("pre_flight"), report.duplicates());
            ((com.fasterxml.jackson.databind.node.ObjectNode) output.doc().get("pre_flight")).set("invalid_indexes", Output.tree(report.invalidIndexes()));
            if (report.duplicates().any() && deployment.migrator().pendingChangeSets().stream()
                    .anyMatch(id -> id.contains("::" + Changelog.GRAIN_CHANGESET_ID + "::"))) {
                throw new CommandFailure(ExitCode.PROBLEM, "update stopped before any change: " + report.duplicates().total()
                        + " duplicate grain(s) in " + table + " (listed above) would stop the grain index changeset; "
                        + "remove the extra claims and run update again");
            }

            AdoptionPlan plan = AdoptionPlan.read(c, deployment.migrator());
            Reports.plan(out, "plan: ", plan, true);
            output.doc().set("plan", Reports.planJson(plan));
            List<AdoptionPlan.Item> blocking = plan.blocking();
            boolean replaceable = !blocking.isEmpty() && blocking.stream().allMatch(AdoptionPlan.Item::replaceable);
            if (!blocking.isEmpty() && !(replaceDiffering && replaceable)) {
                throw new CommandFailure(ExitCode.PROBLEM, "update stopped before any change: " + blocking.size()
                        + " object(s) differ from the bundle (listed above with their differences). "
                        + (replaceable ? "Rebuild them with the bundle's definition: opsmv update --replace-differing; or "
                                + "make the live definitions the bundle's next version: opsmv import"
                                : "Each line above says what to run; then run update again"));
            }
            if (!blocking.isEmpty()) {
                out.flush();
                // the rebuilt MV's indexes on two sessions, as a swap refresh builds them
                SideBySideSwap.SessionOpener indexSession = SideBySideSwap.SessionOpener.to(connection.spec(), "opsmv-update-index");
                List<SideBySideSwap.Swapped> replaced;
                try {
                    replaced = new ReplaceDiffering(c, deployment.migrator(), lockTimeout, indexSession).replace(blocking);
                } catch (ReplaceDiffering.Refused refused) {
                    throw new CommandFailure(ExitCode.PROBLEM, refused.getMessage());
                }
                for (var swapped : replaced) {
                    output.doc().withArray("replaced").addObject().put("mv", swapped.schema() + "." + swapped.name())
                            .put("rows", swapped.rows())
                            .put("restored_by", "rollback: the original is rebuilt from its recorded definition");
                    out.println("replaced: " + swapped.schema() + "." + swapped.name() + " rebuilt with the bundle's definition ("
                            + swapped.rows() + " rows, built in " + swapped.buildMillis() + " ms, swapped in " + swapped.swapMillis()
                            + " ms); the original's definition and everything attached to it are recorded: rollback rebuilds it");
                }
            }

            long before = history.appliedCount();
            out.println("update: applying " + (toTag == null ? "all pending changesets" : "changesets up to tag " + toTag)
                    + " to " + connection.spec().describe() + " (lock timeout " + lockTimeout + ")");
            out.flush();
            deployment.update(toTag);
            if (plan.meetsExistingObjects()) {
                AdoptionPlan.adopted(c).forEach(out::println);
            }
            out.println("update: done, " + (history.appliedCount() - before) + " changeset(s) applied; last tag "
                    + history.lastTag().orElse("(none)"));
            output.doc().put("applied", history.appliedCount() - before).put("last_tag", history.lastTag().orElse(null));
        }
        return output.done(ExitCode.OK);
    }
}
