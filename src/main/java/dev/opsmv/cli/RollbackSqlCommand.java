package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "rollback-sql", mixinStandardHelpOptions = true,
        description = "Prints the SQL that 'rollback --tag|--count' would run, for review (changes nothing).")
final class RollbackSqlCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @ArgGroup(exclusive = true, multiplicity = "1")
    RollbackTarget target;

    @Override
    public Integer call() throws Exception {
        target.checkArguments();
        try (Connection c = connection.open()) {
            History history = new History(c);
            target.check(history.tags(), history.appliedCount());
            Migrator migrator = Migrator.bundle(c, null);
            Reports.script(command.commandLine().getOut(), out -> {
                if (target.tag != null) {
                    migrator.rollbackToTagSql(target.tag, out);
                } else {
                    migrator.rollbackCountSql(target.count, out);
                }
            });
        }
        return ExitCode.OK;
    }
}
