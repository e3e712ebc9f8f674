package dev.opsmv.migrate;

import liquibase.exception.LockException;

/**
 * Liquibase's lock is held by a live opsmv runner or by another client: the command stops at once
 * (exit 5) instead of waiting out Liquibase's five minutes, and the row is left as it is.
 */
public final class LockHeld extends LockException {
    LockHeld(String message) {
        super(message);
    }

    static LockHeld by(ChangelogLock.Holder h) {
        String advice;
        if (h.runnerPid() == null) {
            advice = "another client (stock Liquibase CLI, Maven plugin, an application) holds it; if none is running, run 'opsmv release-locks'";
        } else {
            advice = "another opsmv run is in progress; if its process is gone, its session is not: wait for it, or end it with "
                    + "SELECT pg_terminate_backend(" + h.runnerPid() + ") and run again";
        }
        return new LockHeld("Liquibase's lock is held by " + h.describe() + ": " + advice);
    }
}
