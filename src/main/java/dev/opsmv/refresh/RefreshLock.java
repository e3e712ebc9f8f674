package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The advisory lock that keeps one refresh of an MV at a time. Its key is defined once, in SQL:
 * ops.opsmv_refresh_lock_key (release v1.3: the namespace {@code hashtext('opsmv.refresh')}, then
 * {@code hashtext('schema.mv')} with quote_ident'ed names), which the runner, {@link Reindexer},
 * {@link AbandonedRuns} and the refresher changelog's ops.opsmv_refresh (pg_cron) all call, so they
 * exclude each other.
 */
public final class RefreshLock {
    /** SQL for the two int keys of the MV named by the one parameter (a name regclass accepts). */
    private static final String KEY = "FROM ops.opsmv_refresh_lock_key(?::regclass) k";
    public static final String TRY_LOCK = "SELECT pg_try_advisory_lock(k.class_key, k.object_key)::int " + KEY;
    public static final String UNLOCK = "SELECT pg_advisory_unlock(k.class_key, k.object_key) " + KEY;
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
              AND (l.classid, l.objid) = (SELECT k.class_key::oid, k.object_key::oid FROM ops.opsmv_refresh_lock_key(?::regclass) k)
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
