package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "update", mixinStandardHelpOptions = true,
        description = "Applies the master changelog (all pending changesets, or up to a tag).")
final class UpdateCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--to-tag", paramLabel = "TAG", description = "Stop after the changeset that sets this tag.")
    String toTag;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = Changelog.DEFAULT_LOCK_TIMEOUT,
            description = "How long DDL may wait for a lock before it gives up (PostgreSQL interval, default ${DEFAULT-VALUE}).")
    String lockTimeout;

    @Override
    public Integer call() throws Exception {
        try (Connection c = connection.open()) {
            Migrator migrator = Migrator.bundle(c, lockTimeout);
            if (toTag != null) {
                migrator.updateToTag(toTag);
            } else {
                migrator.update();
            }
        }
        return ExitCode.OK;
    }
}
