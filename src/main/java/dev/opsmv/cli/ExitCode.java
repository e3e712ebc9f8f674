package dev.opsmv.cli;

/** Exit codes shared by every command (documented in docs/COMMANDS.md). */
public final class ExitCode {
    /** Done, nothing wrong. */
    public static final int OK = 0;
    /** A check ran and found a problem (duplicates, an invalid index, a failed refresh, a ✗ in verify). */
    public static final int PROBLEM = 1;
    /** The command line is wrong: unknown command or option, bad value, unknown tag. */
    public static final int USAGE = 2;
    /** Cannot connect, or the database refused or failed a statement. */
    public static final int DATABASE = 3;
    /** A lock could not be had within the lock timeout (DDL behind a long transaction). */
    public static final int LOCK_TIMEOUT = 4;
    /** Another runner holds the advisory lock of an MV (refresh) or Liquibase's lock (update). */
    public static final int BUSY = 5;

    private ExitCode() {
    }
}
