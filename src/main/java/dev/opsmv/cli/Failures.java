package dev.opsmv.cli;

import java.sql.SQLException;

import dev.opsmv.db.BadConnectionUrl;
import dev.opsmv.db.Redact;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.LockTimeoutFailure;

/** Turns any failure into one line for the terminal and a documented exit code. */
final class Failures {
    private static final java.util.regex.Pattern CHANGESET = java.util.regex.Pattern.compile("changeset (\\S+?::\\S+?::[^\\s:]+)");

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
        if (ex instanceof LockTimeoutFailure) {
            return ExitCode.LOCK_TIMEOUT;
        }
        if (find(ex, liquibase.exception.PreconditionFailedException.class) != null) {
            return ExitCode.PROBLEM;
        }
        if (find(ex, liquibase.exception.LockException.class) != null) {
            return ExitCode.BUSY;
        }
        SQLException sql = find(ex, SQLException.class);
        if (sql != null && "55P03".equals(sql.getSQLState())) {
            return ExitCode.LOCK_TIMEOUT;
        }
        // everything else: refused or unknown host, a failed statement, a server gone away
        return ExitCode.DATABASE;
    }

    static String oneLine(Throwable ex) {
        if (ex instanceof CommandFailure || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                || ex instanceof LockTimeoutFailure) {
            return clean(ex.getMessage());
        }
        SQLException sql = find(ex, SQLException.class);
        Throwable root = sql != null ? sql : rootCause(ex);
        String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        var precondition = find(ex, liquibase.exception.PreconditionFailedException.class);
        if (precondition != null && !precondition.getFailedPreconditions().isEmpty()) {
            // the changelog's onFailMessage says what is wrong and how to fix it
            msg = "precondition failed: " + precondition.getFailedPreconditions().get(0).getMessage();
        }
        if (sql != null && sql.getSQLState() != null) {
            msg = msg + " [SQLSTATE " + sql.getSQLState() + "]";
        }
        // Liquibase says which changeset failed only in an outer message: keep that part.
        String changeSet = null;
        for (Throwable t = ex; t != null && changeSet == null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null) {
                java.util.regex.Matcher m = CHANGESET.matcher(t.getMessage());
                if (m.find()) {
                    changeSet = m.group(1);
                }
            }
        }
        if (changeSet != null && !msg.contains(changeSet)) {
            msg = "changeset " + changeSet + " failed: " + msg;
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
