package dev.opsmv.cli;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

import dev.opsmv.db.ConnectionSpec;
import picocli.CommandLine.Option;

/** The connection options every database command shares. There is deliberately no password option. */
public class ConnectionOptions {
    @Option(names = "--url", paramLabel = "URL",
            description = "JDBC URL or postgres://user@host:port/db URI. Default: $DATABASE_URL, then PGHOST/PGPORT/PGDATABASE/PGUSER. "
                    + "Password: from the URI, PGPASSWORD or ~/.pgpass (never an option).")
    String url;

    public ConnectionSpec spec() {
        return ConnectionSpec.resolve(url, System.getenv(), Path.of(System.getProperty("user.home")));
    }

    public Connection open() throws SQLException {
        return spec().open();
    }
}
