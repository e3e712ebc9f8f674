package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Both health views answer (the claims view with the runbook's columns), and whether refreshes outside opsmv are tracked. */
final class HealthViewChecks {
    /** The claims health view's columns, in order: scripts read it by position. */
    static final List<String> CLAIMS_HEALTH_COLUMNS = List.of("last_ok_refresh_finished_at", "hours_since_ok_refresh",
            "status_bucket", "last_status", "last_error", "rows_after_refresh");
    private static final Check.Section SECTION = Check.Section.HEALTH_VIEWS;

    private HealthViewChecks() {
    }

    static void run(Connection c, Checklist list) throws SQLException {
        healthViews(c, list);
        refreshTracking(c, list);
    }

    private static void healthViews(Connection c, Checklist list) {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(*) FILTER (WHERE status_bucket IS NOT NULL) FROM ops.v_mv_health")) {
            rs.next();
            list.add(SECTION, rs.getLong(1) > 0, "health view ops.v_mv_health", rs.getLong(1) + " rows");
        } catch (SQLException e) {
            list.add(SECTION, false, "health view ops.v_mv_health", "does not answer: " + e.getMessage());
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM ops.v_yango_cabinet_claims_mv_health")) {
            ResultSetMetaData md = rs.getMetaData();
            List<String> cols = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                cols.add(md.getColumnLabel(i));
            }
            int n = 0;
            while (rs.next()) {
                n++;
            }
            if (!cols.equals(CLAIMS_HEALTH_COLUMNS)) {
                list.add(SECTION, false, "health view ops.v_yango_cabinet_claims_mv_health", "columns " + cols + ", expected " + CLAIMS_HEALTH_COLUMNS);
            } else {
                list.add(SECTION, n == 1, "health view ops.v_yango_cabinet_claims_mv_health", n + " row(s), columns in the runbook's order");
            }
        } catch (SQLException e) {
            list.add(SECTION, false, "health view ops.v_yango_cabinet_claims_mv_health", "does not answer: " + e.getMessage());
        }
    }

    /** Refreshes made with psql, cron or the old scripts are logged by the event trigger, where it could be installed. */
    private static void refreshTracking(Connection c, Checklist list) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'opsmv_track_refresh'")) {
            if (rs.next() && !"D".equals(rs.getString(1))) {
                list.add(SECTION, true, "refresh tracking", "every REFRESH of a bundle MV is logged, whoever runs it (event trigger opsmv_track_refresh)");
            } else {
                // not a ✗: a role without superuser cannot create event triggers, and health stays true for opsmv's own refreshes
                list.warn(SECTION, "refresh tracking", "refreshes outside opsmv are not tracked (psql, cron and old scripts leave no log row, "
                        + "so health may call a fresh MV stale); a superuser's `opsmv update` installs the event trigger");
            }
        }
    }
}
