package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Tagging;
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

    @Mixin
    Output output;

    @Parameters(index = "0", paramLabel = "NAME", description = "The tag, e.g. before-incident-4711.")
    String name;

    @Override
    public Integer call() throws Exception {
        Tagging.checkName(name);
        try (Connection c = connection.openPrimary()) {
            Tagging.tag(c, name, connection.spec().describe());
            output.text().println("tag: tagged the current state of " + connection.spec().describe() + " as " + name);
            output.doc().put("database", connection.spec().describe()).put("tag", name);
        }
        return output.done(ExitCode.OK);
    }
}
