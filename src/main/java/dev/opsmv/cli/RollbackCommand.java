package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Interruption;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = {"Undoes changesets: everything after a tag (--tag) or the last N (--count).",
                "The changelog's tags (opsmv-empty, v1.0, v1.1) keep their row (keepTagOnRollback), as tags set with "
                        + "'opsmv tag' do: after 'rollback --tag v1.0' the database is at v1.0, tag included."})
final class RollbackCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    Output output;

    @ArgGroup(exclusive = true, multiplicity = "1")
    RollbackTarget target;

    @Override
    public Integer call() throws Exception {
        target.checkArguments();
        try (Connection c = connection.openPrimary()) {
            History history = new History(c);
            long before = history.appliedCount();
            target.check(history.tags(), before);
            Migrator migrator = Migrator.bundle(c, null);
            try (var interruption = Interruption.guard(connection.spec(), c, "rollback")) {
                if (target.tag != null) {
                    migrator.rollbackToTag(target.tag);
                } else {
                    migrator.rollbackCount(target.count);
                }
            }
            output.text().println("rollback: undid " + (before - history.appliedCount()) + " changeset(s); "
                    + history.appliedCount() + " remain, last tag " + history.lastTag().orElse("(none)"));
            output.doc().put("database", connection.spec().describe()).put("rolled_back", before - history.appliedCount())
                    .put("applied", history.appliedCount()).put("last_tag", history.lastTag().orElse(null));
        }
        return output.done(ExitCode.OK);
    }
}
