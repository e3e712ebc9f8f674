package dev.opsmv.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Exit codes shared by every command but {@code health} (a Nagios plugin: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN).
 * What each means is written once, in {@link #MEANINGS}: {@code opsmv --help} prints it, and the table of
 * docs/COMMANDS.md ("Exit codes") must say the same (CommandsDocTest).
 */
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
    /** update, rollback or a one-off refresh stopped by SIGINT: the JVM's own status (128 + 2) after the shutdown hook stopped cleanly. */
    public static final int SIGINT = 130;
    /** update, rollback or a one-off refresh stopped by SIGTERM: the JVM's own status (128 + 15) after the shutdown hook stopped cleanly. */
    public static final int SIGTERM = 143;

    /** Each code's meaning, in order: the one text of {@code --help}'s list and of docs/COMMANDS.md's table. */
    public static final Map<Integer, String> MEANINGS = meanings();

    private static Map<Integer, String> meanings() {
        Map<Integer, String> m = new LinkedHashMap<>();
        m.put(OK, "done, nothing wrong");
        m.put(PROBLEM, "a check found a problem: duplicate grains, objects that differ from the bundle, a stale lock, "
                + "a refused fixture, a failed or skipped refresh, a ✗ in verify");
        m.put(USAGE, "usage: unknown command or option, bad value, unknown tag, a count below 1, malformed URL (health: 3, UNKNOWN)");
        m.put(DATABASE, "cannot connect (refused, unknown host, wrong password, missing database, a standby where the primary "
                + "is needed), or the database failed a statement");
        m.put(LOCK_TIMEOUT, "lock timeout: a statement waited longer than --lock-timeout for a lock (the blocker is named)");
        m.put(BUSY, "busy: Liquibase's lock is held by a live run or another client, or an MV's refresh lock by a refresh or reindex of it");
        m.put(SIGINT, "update or rollback interrupted by SIGINT (Ctrl-C): statement cancelled, lock released, the run's changesets listed; "
                + "a one-off refresh: its building statements cancelled, what it built beside the serving MVs dropped");
        m.put(SIGTERM, "update or rollback interrupted by SIGTERM: statement cancelled, lock released, the run's changesets listed; "
                + "a one-off refresh: its building statements cancelled, what it built beside the serving MVs dropped");
        return java.util.Collections.unmodifiableMap(m);
    }

    /** {@link #MEANINGS} as picocli's exit code list (keys are the codes as text). */
    static Map<String, String> helpList() {
        Map<String, String> list = new LinkedHashMap<>();
        MEANINGS.forEach((code, meaning) -> list.put(Integer.toString(code), meaning));
        return list;
    }

    private ExitCode() {
    }
}
