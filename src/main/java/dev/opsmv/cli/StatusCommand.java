package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.AdoptionPlan;
import dev.opsmv.migrate.ChangelogLock;
import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Shows applied and pending changesets, the last tag and Liquibase's lock.",
                "Exit 1 when the lock has been held longer than --stale-lock-minutes (a crashed update?)."})
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    Output output;

    @Option(names = "--stale-lock-minutes", paramLabel = "N", defaultValue = "5",
            description = "Warn when Liquibase's lock is older than this (default ${DEFAULT-VALUE}).")
    int staleLockMinutes;

    @Override
    public Integer call() throws Exception {
        if (staleLockMinutes < 1) {
            throw new CommandFailure(ExitCode.USAGE, "--stale-lock-minutes must be 1 or more (got " + staleLockMinutes + ")");
        }
        PrintWriter out = output.text();
        try (Connection c = connection.open()) {
            History history = new History(c);
            output.doc().put("database", connection.spec().describe());
            out.println("database:  " + connection.spec().describe());
            out.println("applied:   " + history.appliedCount() + " changeset(s); last tag " + history.lastTag().orElse("(none)"));
            List<String> pending = Migrator.bundle(c, null).pendingChangeSets();
            output.doc().put("applied", history.appliedCount()).put("last_tag", history.lastTag().orElse(null));
            output.doc().set("pending", Output.tree(pending));
            out.println("pending:   " + pending.size() + " changeset(s)");
            pending.forEach(id -> out.println("  " + id));
            if (!pending.isEmpty()) {
                try {
                    AdoptionPlan plan = AdoptionPlan.read(c, Migrator.bundle(c, null));
                    Reports.plan(out, "plan:      ", plan, true);
                    output.doc().set("plan", Reports.planJson(plan));
                } catch (java.sql.SQLException e) {
                    // a read-only standby or a role without CREATE on ops cannot run the comparison; status still answers
                    out.println("plan:      not available here (" + e.getMessage().lines().findFirst().orElse("") + ")");
                }
            }
            Optional<ChangelogLock.Holder> lock = ChangelogLock.bundle(c).holder();
            if (lock.isEmpty()) {
                out.println("lock:      free");
                output.doc().putObject("lock").put("held", false);
                return output.done(ExitCode.OK);
            }
            ChangelogLock.Holder l = lock.get();
            boolean stale = l.heldSeconds() > staleLockMinutes * 60L;
            var doc = output.doc().putObject("lock").put("held", true).put("locked_by", l.lockedBy()).put("granted_at", l.grantedAt())
                    .put("held_seconds", l.heldSeconds()).put("stale", stale);
            // null: not an opsmv runner's row, whose holder's liveness cannot be checked
            if (l.runnerPid() == null) {
                doc.putNull("runner_pid").putNull("holder_alive");
            } else {
                doc.put("runner_pid", l.runnerPid()).put("holder_alive", l.alive());
            }
            out.println("lock:      held by " + l.describe());
            if (l.dead()) {
                out.println("           left by a runner that died: the next update, rollback or tag clears it itself");
            }
            if (stale) {
                out.println("WARNING: Liquibase's lock has been held for more than " + staleLockMinutes + " minutes; "
                        + (l.dead() ? "its runner has died (the next update clears it)"
                        : l.runnerPid() != null ? "its opsmv runner's session is still alive (pid " + l.runnerPid() + ")"
                        : "if no update is running, clear it with 'opsmv release-locks'"));
                return output.done(ExitCode.PROBLEM);
            }
        }
        return output.done(ExitCode.OK);
    }
}
