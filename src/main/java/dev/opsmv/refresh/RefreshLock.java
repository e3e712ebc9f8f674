package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The advisory lock that keeps one refresh of an MV at a time. Two-key form: the first key is the
 * namespace {@code hashtext('opsmv.refresh')} so the keys never collide with other applications'
 * single-bigint advisory locks; the second is {@code hashtext('schema.mv')} (names quote_ident'ed,
 * as {@link MvGraph} spells them). The SQL function ops.opsmv_refresh of the optional refresher
 * changelog takes the same key, so the runner and pg_cron exclude each other; {@link Reindexer} takes it
 * too, so a refresh and a reindex of one MV never run at the same time.
 */
public final class RefreshLock {
    /** SQL for the two int keys; the one parameter is the MV name as MvGraph spells it. */
    public static final String KEYS = "hashtext('opsmv.refresh'), hashtext(?)";
    public static final String TRY_LOCK = "SELECT pg_try_advisory_lock(" + KEYS + ")::int";
    public static final String UNLOCK = "SELECT pg_advisory_unlock(" + KEYS + ")";
    /**
     * The pid and application_name of the session holding the lock of an MV, if any (pg_locks shows
     * two-key advisory locks with objsubid = 2). The application says whether a refresh
     * ({@code opsmv-refresh}) or a reindex ({@code opsmv-reindex}) holds it.
     */
    public static final String HOLDER = """
            SELECT l.pid, a.application_name FROM pg_locks l
            LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = hashtext('opsmv.refresh')::oid AND l.objid = hashtext(?)::oid
            LIMIT 1
            """;

    private RefreshLock() {
    }

    /** "backend pid 123, application 'opsmv-reindex'" for the holder of {@code mv}'s lock, or null when nobody holds it. */
    public static String holder(Connection c, String mv) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(HOLDER)) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String app = rs.getString(2);
                return "backend pid " + rs.getInt(1) + (app == null || app.isEmpty() ? "" : ", application '" + app + "'");
            }
        }
    }
}
