package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Informational: a fresh deployment has no OK refresh logged yet (the MVs were filled by CREATE ... WITH DATA). */
final class LastRefreshChecks {
    private static final Check.Section SECTION = Check.Section.LAST_REFRESH;

    private LastRefreshChecks() {
    }

    static void run(Connection c, Checklist list) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT mv_name, last_ok_refresh_finished_at, hours_since_ok_refresh, status_bucket, last_status
                FROM ops.v_mv_health ORDER BY mv_name""")) {
            while (rs.next()) {
                String when = rs.getString(2) == null ? "no OK refresh logged yet"
                        : "last OK refresh " + rs.getString(2) + " (" + rs.getString(3) + " h ago, " + rs.getString(4) + ")";
                list.add(SECTION, true, "last refresh ops." + rs.getString(1), when + (rs.getString(5) == null ? "" : ", latest run " + rs.getString(5)));
            }
        } catch (SQLException e) {
            list.add(SECTION, false, "last refresh per MV", "cannot read ops.v_mv_health: " + e.getMessage());
        }
    }
}
