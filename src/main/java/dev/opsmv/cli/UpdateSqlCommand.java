package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "update-sql", mixinStandardHelpOptions = true,
        description = {"Prints the SQL that update would run, for review (changes nothing in the bundle's objects).",
                "Preconditions marked onSqlOutput:TEST (the duplicate-grain guard) are evaluated against the database."})
final class UpdateSqlCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = Changelog.DEFAULT_LOCK_TIMEOUT,
            description = "Lock timeout written into the SQL (default ${DEFAULT-VALUE}).")
    String lockTimeout;

    @Override
    public Integer call() throws Exception {
        Changelog.checkLockTimeout(lockTimeout);
        try (Connection c = connection.open()) {
            Reports.script(command.commandLine().getOut(), Migrator.bundle(c, lockTimeout)::updateSql);
        }
        return ExitCode.OK;
    }
}
