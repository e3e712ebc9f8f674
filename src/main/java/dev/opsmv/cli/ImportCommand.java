package dev.opsmv.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Import;
import dev.opsmv.migrate.Migrator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Makes production's definitions the bundle's next version: each bundle MV whose live definition differs from "
                + "the bundle's latest is written as ops/mviews/<name>_vNN.sql (rebuilt beside the serving MV and swapped in; its rollback "
                + "restores the previous version), each differing plain view with the bundle's columns as ops/views/<name>_vNN.sql "
                + "(CREATE OR REPLACE VIEW), with a catalogue changeset (the database it came from adopts them unchanged) and a "
                + "release file with its tag, included by the master changelog.",
                "Before writing, applies the release (each version's rollback, then its changeset) in a transaction it rolls back: "
                        + "a release that does not apply is one line and no file.",
                "Changes nothing in the database. Review and commit the files, rebuild the runner (or run liquibase with --search-path), then update."})
final class ImportCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceSchemaOption source;

    @Option(names = "--into", paramLabel = "DIR", defaultValue = "changelog",
            description = "The bundle's changelog directory to write into (default ${DEFAULT-VALUE}).")
    Path into;

    @Option(names = "--release", paramLabel = "TAG", description = "The release (and tag) to write, e.g. v1.2 (default: the one after the changelog's last tag).")
    String release;

    @Override
    public Integer call() throws Exception {
        if (release != null && !release.matches("v\\d+\\.\\d+")) {
            throw new CommandFailure(ExitCode.USAGE, "--release must look like v1.2 (got '" + release + "')");
        }
        PrintWriter out = command.commandLine().getOut();
        try (Connection c = connection.open()) {
            Import.Result result;
            try {
                result = new Import(c, Migrator.bundle(c, null, source.parameter()), into, source.value()).run(release);
            } catch (IllegalArgumentException e) {
                throw new CommandFailure(ExitCode.USAGE, e.getMessage());
            } catch (IllegalStateException e) {
                throw new CommandFailure(ExitCode.PROBLEM, e.getMessage());
            }
            if (result.objects().isEmpty()) {
                out.println("import: nothing to import: every bundle view and MV here has the bundle's latest definition");
                return ExitCode.OK;
            }
            out.println("import: release " + result.release() + " makes production's definition the bundle's for " + String.join(", ", result.objects()));
            result.written().forEach(p -> out.println("wrote: " + p));
            result.notWritten().forEach(n -> out.println("not written: " + n));
            out.println("next: review and commit these files, rebuild the runner, then `opsmv update` (this database adopts them as they are; "
                    + "others are rebuilt to them); `opsmv rollback --tag` to the previous release restores the previous versions");
        }
        return ExitCode.OK;
    }
}
