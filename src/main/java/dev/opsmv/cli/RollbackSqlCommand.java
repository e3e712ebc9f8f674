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
            command.commandLine().getOut().flush();
            Migrator migrator = Migrator.bundle(c, null);
            if (target.tag != null) {
                migrator.rollbackToTagSql(target.tag, System.out);
            } else {
                migrator.rollbackCountSql(target.count, System.out);
            }
            System.out.flush();
        }
        return ExitCode.OK;
    }
}
