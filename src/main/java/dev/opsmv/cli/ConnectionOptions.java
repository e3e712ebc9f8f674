package dev.opsmv.cli;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

import dev.opsmv.db.ConnectError;
import dev.opsmv.db.ConnectionSpec;
import picocli.CommandLine.Option;

/** The connection options every database command shares. There is deliberately no password option. */
public class ConnectionOptions {
    @Option(names = "--url", paramLabel = "URL",
            description = "JDBC URL (jdbc:postgresql://host:5432/db) or libpq URI (postgres://user@host:5432/db?sslmode=require). "
                    + "Default: $DATABASE_URL, then PGHOST/PGPORT/PGDATABASE/PGUSER. "
                    + "Password: from $DATABASE_URL, PGPASSWORD or ~/.pgpass (never an option; a password in --url is visible in ps).")
    String url;

    private ConnectionSpec spec;

    public ConnectionSpec spec() {
        if (spec == null) {
            spec = ConnectionSpec.resolve(url, System.getenv(), Path.of(System.getProperty("user.home")));
        }
        return spec;
    }

    /** Opens a connection or fails with one line naming the cause (exit 3). */
    public Connection open() {
        return open("opsmv");
    }

    public Connection open(String applicationName) {
        ConnectionSpec s = spec();
        try {
            return s.open(applicationName);
        } catch (SQLException e) {
            throw new CommandFailure(ExitCode.DATABASE, ConnectError.explain(s, e));
        }
    }
}
