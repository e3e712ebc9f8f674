package dev.opsmv.cli;

import java.sql.SQLException;

import dev.opsmv.db.BadConnectionUrl;
import dev.opsmv.db.Causes;
import dev.opsmv.db.ConnectFailure;
import dev.opsmv.db.Redact;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.LockTimeoutFailure;

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
        if (ex instanceof SourceFixture.RealSourceTables || ex instanceof dev.opsmv.db.NarrowerRelation) {
            return ExitCode.PROBLEM;
        }
        if (ex instanceof LockTimeoutFailure) {
            return ExitCode.LOCK_TIMEOUT;
        }
        if (Causes.find(ex, liquibase.exception.PreconditionFailedException.class) != null) {
            return ExitCode.PROBLEM;
        }
        if (Causes.find(ex, liquibase.exception.LockException.class) != null) {
            return ExitCode.BUSY;
        }
        if (Causes.isLockTimeout(ex)) {
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
        ConnectFailure connect = Causes.find(ex, ConnectFailure.class);
        if (connect != null) {
            return clean(connect.getMessage());
        }
        SQLException sql = Causes.find(ex, SQLException.class);
        String grant = dev.opsmv.db.Privileges.missingGrant(sql, null);
        if (grant != null) {
            return clean(grant);
        }
        Throwable root = sql != null ? sql : Causes.root(ex);
        String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        var precondition = Causes.find(ex, liquibase.exception.PreconditionFailedException.class);
        if (precondition != null && !precondition.getFailedPreconditions().isEmpty()) {
            // the changelog's onFailMessage says what is wrong and how to fix it
            msg = "precondition failed: " + precondition.getFailedPreconditions().get(0).getMessage();
        }
        if (sql != null && sql.getSQLState() != null) {
            msg = msg + " [SQLSTATE " + sql.getSQLState() + "]";
        }
        if (sql != null && sessionEnded(sql.getSQLState())) {
            // a restart or pg_terminate_backend: what finished is recorded, what did not is not
            String changeSet = Causes.failedChangeSet(ex);
            return clean("the database ended the runner's session" + (changeSet == null ? "" : " during changeset " + changeSet)
                    + " (" + msg + "): nothing is recorded as done for what did not finish; run the command again");
        }
        // Liquibase says which changeset failed only in an outer message: keep that part.
        String changeSet = Causes.failedChangeSet(ex);
        if (changeSet != null && !msg.contains(changeSet)) {
            msg = "changeset " + changeSet + " failed: " + msg;
        }
        return clean(msg);
    }

    /** admin/crash shutdown, terminated backend (57P01-57P03) or a lost connection (class 08). */
    private static boolean sessionEnded(String state) {
        return state != null && (state.startsWith("57P0") || state.startsWith("08"));
    }

    private static String clean(String msg) {
        String one = msg == null ? "" : msg.replaceAll("\\s*\\R\\s*", " ").trim();
        return Redact.url(one);
    }
}
