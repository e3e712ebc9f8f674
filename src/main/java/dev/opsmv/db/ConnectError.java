package dev.opsmv.db;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;

import org.postgresql.util.PSQLException;

/**
 * Words a failed connection attempt as one line that names the cause and the next step. The
 * driver's own messages are generic ("The connection attempt failed.") or long; the cause is
 * usually in the SQLSTATE or in a nested network exception.
 */
public final class ConnectError {
    private ConnectError() {
    }

    public static String explain(ConnectionSpec spec, SQLException e) {
        if (e instanceof ConnectFailure) {
            return e.getMessage();
        }
        String where = spec.describe();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String server = serverMessage(e);
        String reason;
        if (Causes.find(e, UnknownHostException.class) != null) {
            reason = "unknown host '" + spec.host() + "' (check the host name in --url / DATABASE_URL / PGHOST)";
        } else if (Causes.find(e, ConnectException.class) != null || Causes.find(e, NoRouteToHostException.class) != null
                || "08001".equals(state) && server == null && e.getMessage() != null && e.getMessage().contains("refused")) {
            reason = "connection refused: is PostgreSQL running and listening on " + spec.host() + ":" + spec.port() + "?";
        } else if (Causes.find(e, SocketTimeoutException.class) != null) {
            reason = "no answer from " + spec.host() + ":" + spec.port() + " within 10 s (firewall, wrong host or port?)";
        } else if ("28P01".equals(state)) {
            reason = "password authentication failed for user '" + spec.user()
                    + "' (the password comes from the URL, PGPASSWORD or ~/.pgpass; check which one applies)";
        } else if ("28000".equals(state)) {
            reason = (server != null ? server : "authentication rejected") + " (check pg_hba.conf and the user name)";
        } else if ("3D000".equals(state)) {
            reason = "database '" + spec.database() + "' does not exist (check the database name in --url / DATABASE_URL / PGDATABASE)";
        } else if (server != null) {
            reason = server;
        } else {
            reason = e.getMessage();
        }
        String line = "cannot connect to " + where + ": " + reason + (state.isEmpty() ? "" : " [SQLSTATE " + state + "]");
        return Redact.text(line.replaceAll("\\s*\\R\\s*", " "), spec.passwordForChildEnvironment());
    }

    private static String serverMessage(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            return p.getServerErrorMessage().getMessage();
        }
        return null;
    }
}
