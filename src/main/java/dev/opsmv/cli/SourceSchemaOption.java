package dev.opsmv.cli;

import dev.opsmv.migrate.Changelog;
import picocli.CommandLine.Option;

/** The changelog's source_schema parameter, for the commands that read or deploy against the source tables. */
public class SourceSchemaOption {
    @Option(names = "--source-schema", paramLabel = "SCHEMA", defaultValue = Changelog.DEFAULT_SOURCE_SCHEMA,
            description = "Schema of the production source tables (the changelog's source_schema parameter; default ${DEFAULT-VALUE}). "
                    + "Keep the one a database was deployed with: Liquibase checksums changesets after substituting it.")
    String sourceSchema;

    String value() {
        try {
            return Changelog.checkSourceSchema(sourceSchema);
        } catch (IllegalArgumentException e) {
            throw new CommandFailure(ExitCode.USAGE, e.getMessage());
        }
    }

    /** null for the default, so the changelog's own property applies (same checksums as the stock CLI without -D). */
    String parameter() {
        String v = value();
        return Changelog.DEFAULT_SOURCE_SCHEMA.equals(v) ? null : v;
    }
}
