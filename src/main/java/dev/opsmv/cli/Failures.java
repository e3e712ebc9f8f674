package dev.opsmv.cli;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.SQLException;

import dev.opsmv.db.BadConnectionUrl;
import dev.opsmv.db.Redact;
import dev.opsmv.fixture.SourceFixture;

/** Turns any failure into one line for the terminal and a documented exit code. */
final class Failures {
    private Failures() {
    }

    static int exitCode(Throwable ex) {
        if (ex instanceof CommandFailure cf) {
            return cf.exitCode;
        }
        if (ex instanceof BadConnectionUrl || ex instanceof IllegalArgumentException) {
            return ExitCode.USAGE;
        }
        if (ex instanceof SourceFixture.RealSourceTables) {
            return ExitCode.PROBLEM;
        }
        SQLException sql = find(ex, SQLException.class);
        if (sql != null && "55P03".equals(sql.getSQLState())) {
            return ExitCode.LOCK_TIMEOUT;
        }
        if (sql != null || find(ex, ConnectException.class) != null || find(ex, UnknownHostException.class) != null) {
            return ExitCode.DATABASE;
        }
        return ExitCode.DATABASE;
    }

    static String oneLine(Throwable ex) {
        if (ex instanceof CommandFailure || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
            return clean(ex.getMessage());
        }
        SQLException sql = find(ex, SQLException.class);
        Throwable root = sql != null ? sql : rootCause(ex);
        String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        if (sql != null && sql.getSQLState() != null) {
            msg = msg + " [SQLSTATE " + sql.getSQLState() + "]";
        }
        return clean(msg);
    }

    private static String clean(String msg) {
        String one = msg == null ? "" : msg.replaceAll("\\s*\\R\\s*", " ").trim();
        return Redact.url(one);
    }

    static <T extends Throwable> T find(Throwable ex, Class<T> type) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static Throwable rootCause(Throwable ex) {
        Throwable t = ex;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }
}
