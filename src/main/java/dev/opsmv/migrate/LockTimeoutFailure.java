package dev.opsmv.migrate;

/** A changeset gave up waiting for a lock (SQLSTATE 55P03); the message names the changeset and the blocker. */
public final class LockTimeoutFailure extends RuntimeException {
    public LockTimeoutFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
