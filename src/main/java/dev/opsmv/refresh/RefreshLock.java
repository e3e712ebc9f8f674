package dev.opsmv.refresh;

/**
 * The advisory lock that keeps one refresh of an MV at a time. Two-key form: the first key is the
 * namespace {@code hashtext('opsmv.refresh')} so the keys never collide with other applications'
 * single-bigint advisory locks; the second is {@code hashtext('schema.mv')} (names quote_ident'ed,
 * as {@link MvGraph} spells them). The SQL function ops.opsmv_refresh of the optional refresher
 * changelog takes the same key, so the runner and pg_cron exclude each other.
 */
public final class RefreshLock {
    /** SQL for the two int keys; the one parameter is the MV name as MvGraph spells it. */
    public static final String KEYS = "hashtext('opsmv.refresh'), hashtext(?)";
    public static final String TRY_LOCK = "SELECT pg_try_advisory_lock(" + KEYS + ")::int";
    public static final String UNLOCK = "SELECT pg_advisory_unlock(" + KEYS + ")";
    /** The pid holding the lock of an MV, if any (pg_locks shows two-key advisory locks with objsubid = 2). */
    public static final String HOLDER = """
            SELECT l.pid FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = hashtext('opsmv.refresh')::oid AND l.objid = hashtext(?)::oid
            LIMIT 1
            """;

    private RefreshLock() {
    }
}
