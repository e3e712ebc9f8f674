package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.History;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "tag", mixinStandardHelpOptions = true,
        description = "Tags the current state (the last applied changeset) so that 'rollback --tag NAME' can return to it.")
final class TagCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", paramLabel = "NAME", description = "The tag, e.g. before-incident-4711.")
    String name;

    @Override
    public Integer call() throws Exception {
        if (name.isBlank() || !name.matches("[A-Za-z0-9._-]{1,255}")) {
            throw new CommandFailure(ExitCode.USAGE, "tag name must be 1-255 letters, digits, '.', '_' or '-' (got '" + name + "')");
        }
        try (Connection c = connection.open()) {
            History history = new History(c);
            if (history.appliedCount() == 0) {
                throw new CommandFailure(ExitCode.USAGE, "nothing to tag: no changeset has been applied to " + connection.spec().describe());
            }
            if (history.tags().contains(name)) {
                throw new CommandFailure(ExitCode.USAGE, "tag '" + name + "' already exists; choose another name");
            }
            // Liquibase tags the last row by overwriting its TAG column: tagging a row that carries a
            // tag would silently delete that tag (and with it the rollback target).
            var existing = history.tagOfLastChangeSet();
            if (existing.isPresent()) {
                throw new CommandFailure(ExitCode.USAGE, "the current state already carries tag '" + existing.get()
                        + "'; tagging it again would replace that tag; use 'rollback --tag " + existing.get() + "'");
            }
            Migrator.bundle(c, null).tag(name);
            command.commandLine().getOut().println("tag: tagged the current state of " + connection.spec().describe() + " as " + name);
        }
        return ExitCode.OK;
    }
}
