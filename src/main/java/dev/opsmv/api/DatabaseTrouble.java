package dev.opsmv.api;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.opsmv.db.Redact;

/**
 * What `serve` answers when the database fails a request: one line that says why, 503 (with Retry-After) for what
 * a retry may fix, 500 for the rest; the server's address and the login, never a password.
 */
final class DatabaseTrouble {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);

    private final String login;
    private final String server;
    private final long statementTimeoutMs;

    DatabaseTrouble(String login, String server, long statementTimeoutMs) {
        this.login = login;
        this.server = server;
        this.statementTimeoutMs = statementTimeoutMs;
    }

    /** Database trouble → 503 (unavailable, timed out, locked) with a one-line reason; anything else → 500. */
    Reply answer(HttpFields.Mutable headers, SQLException e, String what) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String grant = dev.opsmv.db.Privileges.missingGrant(e, login);
        if (grant != null) {
            // a deployment mistake no retry fixes: 500, with the grant to add
            LOG.error("{}: {}", what, grant);
            return Reply.error(500, grant, null);
        }
        if (e instanceof SQLTransientConnectionException || state.startsWith("08") || state.equals("57P01")
                || state.equals("57P03") || state.equals("57014") || state.equals("55P03")) {
            String msg = unavailable(e);
            LOG.warn("{}: 503: {}", what, msg);
            headers.put(HttpHeader.RETRY_AFTER, "5");
            return Reply.error(503, msg, null);
        }
        LOG.error("{}: database error [SQLSTATE {}]: {}", what, state, Redact.url(String.valueOf(e.getMessage())));
        return Reply.error(500, "database error [SQLSTATE " + state + "]; see the server log", null);
    }

    String unavailable(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String grant = dev.opsmv.db.Privileges.missingGrant(e, login);
        if (grant != null) {
            return grant;
        }
        return switch (state) {
            case "57014" -> "the query took longer than the statement timeout of " + statementTimeoutMs + " ms";
            case "55P03" -> "the driver matrix is locked (a refresh holds it) and the plain view too; retry shortly";
            default -> "database unavailable (" + server + "): " + oneLine(e);
        };
    }

    private static String oneLine(SQLException e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && t.getMessage() != null && t.getMessage().contains("Connection is not available")) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return Redact.url(m.replaceAll("\\s*\\R\\s*", " ").trim());
    }
}
