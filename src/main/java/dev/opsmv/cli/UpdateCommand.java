package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Deployment;
import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Preflight;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "update", mixinStandardHelpOptions = true,
        description = {"Applies the master changelog (all pending changesets, or up to a tag).",
                "Pre-flight first: duplicate grains in claims_cabinet and INVALID bundle indexes; "
                        + "duplicates stop the update before any change while the grain index is still to be built."})
final class UpdateCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--to-tag", paramLabel = "TAG", description = "Stop after the changeset that sets this tag (a tag of the changelog: opsmv-empty, v1.0, ...).")
    String toTag;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = Changelog.DEFAULT_LOCK_TIMEOUT,
            description = "How long DDL may wait for a lock before it gives up, e.g. 500ms, 5s, 2min (default ${DEFAULT-VALUE}).")
    String lockTimeout;

    @Override
    public Integer call() throws Exception {
        Changelog.checkLockTimeout(lockTimeout);
        PrintWriter out = command.commandLine().getOut();
        try (Connection c = connection.open()) {
            Deployment deployment = new Deployment(connection.spec(), c, lockTimeout);
            if (toTag != null) {
                List<String> tags = deployment.migrator().changelogTags();
                if (!tags.contains(toTag)) {
                    throw new CommandFailure(ExitCode.USAGE, "unknown tag '" + toTag + "' for --to-tag: the changelog declares " + String.join(", ", tags));
                }
            }
            History history = new History(c);
            var lock = history.lock();
            if (lock.isPresent()) {
                throw new CommandFailure(ExitCode.BUSY, "Liquibase's lock is held by " + lock.get().lockedBy() + " since " + lock.get().grantedAt()
                        + " (" + lock.get().heldSeconds() + " s): another update is running; if none is, run 'opsmv release-locks'");
            }

            Preflight.Report report = new Preflight(c, Changelog.DEFAULT_SOURCE_SCHEMA).run();
            String table = Changelog.DEFAULT_SOURCE_SCHEMA + ".claims_cabinet";
            Reports.duplicates(out, "pre-flight: ", table, report.duplicates());
            Reports.invalidIndexes(out, "pre-flight: ", report.invalidIndexes());
            if (report.duplicates().any() && deployment.migrator().pendingChangeSets().stream()
                    .anyMatch(id -> id.contains("::" + Changelog.GRAIN_CHANGESET_ID + "::"))) {
                throw new CommandFailure(ExitCode.PROBLEM, "update stopped before any change: " + report.duplicates().total()
                        + " duplicate grain(s) in " + table + " (listed above) would stop the grain index changeset; "
                        + "remove the extra claims and run update again");
            }

            long before = history.appliedCount();
            out.println("update: applying " + (toTag == null ? "all pending changesets" : "changesets up to tag " + toTag)
                    + " to " + connection.spec().describe() + " (lock timeout " + lockTimeout + ")");
            out.flush();
            deployment.update(toTag);
            out.println("update: done, " + (history.appliedCount() - before) + " changeset(s) applied; last tag "
                    + history.lastTag().orElse("(none)"));
        }
        return ExitCode.OK;
    }
}
