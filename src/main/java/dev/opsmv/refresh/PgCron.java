package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Collectors;

import dev.opsmv.db.Session;

/**
 * Registers the refresh as a pg_cron job. The job runs SQL, not the runner: it calls the procedure
 * ops.opsmv_refresh_scheduled (optional refresher changelog) with the MVs in the dependency order
 * {@link dev.opsmv.db.MvGraph} gives now; run {@code schedule} again after the MVs change.
 */
public final class PgCron {
    /** pg_cron or the procedure is missing: nothing was registered. */
    public static final class Unavailable extends IllegalStateException {
        public Unavailable(String message) {
            super(message);
        }
    }

    private PgCron() {
    }

    /** The SQL the job runs. */
    public static String jobCommand(List<String> order) {
        return "CALL ops.opsmv_refresh_scheduled(ARRAY[" + order.stream().map(PgCron::literal).collect(Collectors.joining(", "))
                + "]::text[])";
    }

    /** The statement that registers (or, same name, replaces) the job. */
    public static String scheduleStatement(String jobName, String cron, List<String> order) {
        return "SELECT cron.schedule(" + literal(jobName) + ", " + literal(cron) + ", " + literal(jobCommand(order)) + ")";
    }

    /** Checks pg_cron and the procedure, then registers the job; returns its jobid. */
    public static long schedule(Connection c, String jobName, String cron, List<String> order) throws SQLException {
        if (!Session.exists(c, "SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'")) {
            throw new Unavailable("pg_cron is not installed in database " + Session.text(c, "SELECT current_database()")
                    + ": nothing scheduled. Install it (shared_preload_libraries = 'pg_cron', cron.database_name, "
                    + "CREATE EXTENSION pg_cron) or schedule `opsmv refresh --all` with crontab / Task Scheduler / refresh --every (docs/REFRESHING.md)");
        }
        if (!Session.exists(c, "SELECT 1 WHERE to_regprocedure('ops.opsmv_refresh_scheduled(text[])') IS NOT NULL")) {
            throw new Unavailable("procedure ops.opsmv_refresh_scheduled is missing: apply the optional changelog "
                    + "changelog/optional/refresher-role.yaml first; nothing scheduled");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT cron.schedule(?, ?, ?)")) {
            ps.setString(1, jobName);
            ps.setString(2, cron);
            ps.setString(3, jobCommand(order));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
