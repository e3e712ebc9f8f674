package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Recognises refreshes whose runner died: a RUNNING row of ops.mv_refresh_log whose backend is no
 * longer in pg_stat_activity (or whose pid now belongs to a session that started after the row)
 * and whose advisory lock ({@link RefreshLock}) is free. Such a row becomes ABANDONED: the row is
 * kept (history), with refresh_finished_at and an error_message saying the runner died.
 *
 * <p>A killed runner's backend may live on (still running the REFRESH, holding the lock) until it
 * notices its client is gone: while it holds the lock its row is not abandoned, the MV is busy.
 * The health check only reports such rows (it reads, it never writes); the next refresh marks them.
 */
public final class AbandonedRuns {
    /** One row marked ABANDONED. */
    public record Abandoned(long refreshId, String mv, Integer backendPid, OffsetDateTime startedAt) {
    }

    private static final String SQL = """
            UPDATE ops.mv_refresh_log l
            SET status = 'ABANDONED',
                refresh_finished_at = clock_timestamp(),
                duration_ms = (extract(epoch FROM clock_timestamp() - l.refresh_started_at) * 1000)::bigint,
                error_message = format('runner died: its backend (pid %s) is gone and the refresh lock is free; marked ABANDONED by pid %s',
                                       coalesce(l.backend_pid::text, '?'), pg_backend_pid())
            WHERE l.status = 'RUNNING'
              AND quote_ident(l.schema_name) || '.' || quote_ident(l.mv_name) = ANY (?::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                              WHERE a.pid = l.backend_pid
                                AND (a.backend_start IS NULL OR a.backend_start <= l.refresh_started_at))
              AND (? OR (SELECT pg_try_advisory_xact_lock(k.class_key, k.object_key) FROM ops.opsmv_refresh_lock_key(l.schema_name, l.mv_name) k))
            RETURNING l.refresh_id, quote_ident(l.schema_name) || '.' || quote_ident(l.mv_name), l.backend_pid, l.refresh_started_at
            """;

    private AbandonedRuns() {
    }

    /**
     * Marks the abandoned RUNNING rows of {@code mvs} (names as MvGraph spells them: "ops.mv_x"). Safe
     * from any session: it only touches rows whose backend is gone and whose lock it can take. One
     * statement; with autocommit on it commits at once and the locks it tried are released.
     */
    static List<Abandoned> sweep(Connection c, Collection<String> mvs) throws SQLException {
        return run(c, mvs, false);
    }

    /** For a runner that holds the MV's advisory lock itself (on another connection): no lock test. */
    static List<Abandoned> sweepWhileLocked(Connection c, String mv) throws SQLException {
        return run(c, List.of(mv), true);
    }

    private static List<Abandoned> run(Connection c, Collection<String> mvs, boolean lockHeldByCaller) throws SQLException {
        List<Abandoned> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(SQL)) {
            ps.setArray(1, c.createArrayOf("text", mvs.toArray()));
            ps.setBoolean(2, lockHeldByCaller);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Abandoned(rs.getLong(1), rs.getString(2), (Integer) rs.getObject(3),
                            rs.getObject(4, OffsetDateTime.class)));
                }
            }
        }
        return out;
    }
}
