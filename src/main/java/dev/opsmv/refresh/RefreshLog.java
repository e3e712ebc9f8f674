package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.UUID;

/**
 * Writes ops.mv_refresh_log. The RUNNING row goes through its own autocommit connection so that
 * everyone sees it before the refresh starts; OK is written inside the refresh's transaction (the
 * row and the new data commit together); ERROR/SKIPPED/BUSY go through the autocommit connection
 * (the refresh transaction has rolled back or never started).
 */
final class RefreshLog {
    private static final String DURATION = "(extract(epoch FROM clock_timestamp() - refresh_started_at) * 1000)::bigint";
    private final Connection autocommit;
    private final UUID runId;
    private final String clientHost;
    private final String applicationName;

    RefreshLog(Connection autocommit, UUID runId, String clientHost, String applicationName) {
        this.autocommit = autocommit;
        this.runId = runId;
        this.clientHost = clientHost;
        this.applicationName = applicationName;
    }

    /** Inserts and commits the RUNNING row; returns its refresh_id. */
    long running(String mv, RefreshMethod m, int backendPid) throws SQLException {
        return insert(mv, "RUNNING", m.method(), m.fallbackReason(), null, backendPid, false);
    }

    /** A row that is final at once: SKIPPED, BUSY, or an ERROR that never started (refused). */
    long finalRow(String mv, String status, String method, String message, Integer backendPid) throws SQLException {
        return insert(mv, status, method, null, message, backendPid, true);
    }

    /** OK, on the refreshing connection inside its transaction. */
    static void ok(Connection tx, long refreshId, long rows) throws SQLException {
        ok(tx, refreshId, rows, null);
    }

    /** OK with a note in fallback_reason (a swap's lock time), or the RUNNING row's reason kept when null. */
    static void ok(Connection tx, long refreshId, long rows, String note) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("UPDATE ops.mv_refresh_log SET status = 'OK', refresh_finished_at = clock_timestamp(), "
                + "duration_ms = " + DURATION + ", rows_after_refresh = ?, fallback_reason = coalesce(?, fallback_reason) "
                + "WHERE refresh_id = ? AND status = 'RUNNING'")) {
            ps.setLong(1, rows);
            ps.setString(2, note);
            ps.setLong(3, refreshId);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("log row " + refreshId + " is no longer RUNNING (was it marked ABANDONED by someone else?)");
            }
        }
    }

    /** Rewrites fallback_reason of a finished row (a swap's lock time, once the commit is known). */
    void note(long refreshId, String note) throws SQLException {
        try (PreparedStatement ps = autocommit.prepareStatement("UPDATE ops.mv_refresh_log SET fallback_reason = ? WHERE refresh_id = ?")) {
            ps.setString(1, note);
            ps.setLong(2, refreshId);
            ps.executeUpdate();
        }
    }

    void error(long refreshId, String message) throws SQLException {
        try (PreparedStatement ps = autocommit.prepareStatement("UPDATE ops.mv_refresh_log SET status = 'ERROR', refresh_finished_at = clock_timestamp(), "
                + "duration_ms = " + DURATION + ", error_message = ? WHERE refresh_id = ?")) {
            ps.setString(1, message);
            ps.setLong(2, refreshId);
            ps.executeUpdate();
        }
    }

    private long insert(String mv, String status, String method, String fallback, String message, Integer pid, boolean finished)
            throws SQLException {
        String[] parts = split(mv);
        try (PreparedStatement ps = autocommit.prepareStatement("""
                INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, status, method, fallback_reason, error_message,
                                                backend_pid, client_host, application_name, refresh_finished_at, duration_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN clock_timestamp() END, CASE WHEN ? THEN 0 END)
                RETURNING refresh_id
                """)) {
            ps.setObject(1, runId);
            ps.setString(2, parts[0]);
            ps.setString(3, parts[1]);
            ps.setString(4, status);
            ps.setString(5, method);
            ps.setString(6, fallback);
            ps.setString(7, message);
            if (pid == null) {
                ps.setNull(8, Types.INTEGER);
            } else {
                ps.setInt(8, pid);
            }
            ps.setString(9, clientHost);
            ps.setString(10, applicationName);
            ps.setBoolean(11, finished);
            ps.setBoolean(12, finished);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** "ops.mv_x" → {"ops", "mv_x"} (unquoting what quote_ident added). */
    static String[] split(String mv) {
        int dot = -1;
        boolean quoted = false;
        for (int i = 0; i < mv.length(); i++) {
            char ch = mv.charAt(i);
            if (ch == '"') {
                quoted = !quoted;
            } else if (ch == '.' && !quoted) {
                dot = i;
                break;
            }
        }
        return new String[] {unquote(mv.substring(0, dot)), unquote(mv.substring(dot + 1))};
    }

    private static String unquote(String ident) {
        if (ident.length() >= 2 && ident.startsWith("\"") && ident.endsWith("\"")) {
            return ident.substring(1, ident.length() - 1).replace("\"\"", "\"");
        }
        return ident;
    }
}
