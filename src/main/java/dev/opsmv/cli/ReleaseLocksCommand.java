package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.Optional;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "release-locks", mixinStandardHelpOptions = true,
        description = "Clears Liquibase's lock (DATABASECHANGELOGLOCK) left by an update that died. Only when no update is running.")
final class ReleaseLocksCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = command.commandLine().getOut();
        try (Connection c = connection.open()) {
            Optional<History.Lock> lock = new History(c).lock();
            if (lock.isEmpty()) {
                out.println("release-locks: the lock was not held; nothing to do");
                return ExitCode.OK;
            }
            Migrator.bundle(c, null).releaseLocks();
            out.println("release-locks: released the lock held by " + lock.get().lockedBy() + " since " + lock.get().grantedAt());
        }
        return ExitCode.OK;
    }
}
