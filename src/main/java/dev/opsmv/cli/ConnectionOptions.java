package dev.opsmv.cli;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.BadConnectionUrl;
import dev.opsmv.db.ConnectError;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Replication;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The connection options every database command shares. There is deliberately no password option. */
public class ConnectionOptions {
    // A list so that serve can take several servers (standbys first); every other command takes one.
    @Option(names = "--url", paramLabel = "URL", arity = "1",
            description = "JDBC URL (jdbc:postgresql://host:5432/db) or libpq URI (postgres://user@host:5432/db?sslmode=require). "
                    + "Default: $DATABASE_URL, then PGHOST/PGPORT/PGDATABASE/PGUSER. "
                    + "Password: from $DATABASE_URL, PGPASSWORD or ~/.pgpass (never an option; a password in --url is visible in ps).")
    List<String> urls = new ArrayList<>();

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    private ConnectionSpec spec;

    /** The one server of this command; several --url are serve's alone. */
    public ConnectionSpec spec() {
        if (spec == null) {
            if (urls.size() > 1) {
                throw new BadConnectionUrl("--url given " + urls.size() + " times: only serve reads from several servers; "
                        + commandName() + " takes one");
            }
            spec = resolve(urls.isEmpty() ? null : urls.get(0));
        }
        return spec;
    }

    /** Every --url (or the one default connection) as one multi-host connection: standbys first (serve). */
    public ConnectionSpec readSpec() {
        if (urls.size() <= 1) {
            return spec();
        }
        List<ConnectionSpec> all = new ArrayList<>();
        for (String u : urls) {
            all.add(resolve(u));
        }
        return ConnectionSpec.anyOf(all);
    }

    private static ConnectionSpec resolve(String url) {
        return ConnectionSpec.resolve(url, System.getenv(), Path.of(System.getProperty("user.home")));
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

    /**
     * For the commands that write (update, rollback, tag, refresh, reindex, schedule): opens the
     * connection and refuses a standby at once, before anything is attempted, with one line and exit 3.
     * A standby would refuse the first write anyway, but midway and in PostgreSQL's words.
     */
    public Connection openPrimary(String applicationName) {
        Connection c = open(applicationName);
        try {
            if (Replication.read(c).inRecovery()) {
                throw new CommandFailure(ExitCode.DATABASE, Replication.standbyRefusal(spec().describe(), commandName()));
            }
            return c;
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the first failure is the one to report
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new CommandFailure(ExitCode.DATABASE, "cannot tell whether " + spec().describe() + " is the primary: " + e.getMessage());
        }
    }

    public Connection openPrimary() {
        return openPrimary("opsmv");
    }

    /** {@link #openPrimary} for commands whose engine opens its own connections: checked, then closed. */
    public void requirePrimary() {
        try {
            openPrimary().close();
        } catch (SQLException ignored) {
            // closing a checked connection: nothing to report
        }
    }

    private String commandName() {
        return command == null ? "this command" : command.name();
    }
}
