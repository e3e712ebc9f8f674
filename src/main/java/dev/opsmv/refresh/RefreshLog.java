package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.UUID;

/**
 * Writes ops.mv_refresh_log through the log-row functions of release v1.3 (ops.opsmv_log_running,
 * _final, _ok, _failed), which the pg_cron procedure calls too: one lifecycle for both paths. The
 * RUNNING row goes through its own autocommit connection so that everyone sees it before the refresh
 * starts; OK is written inside the refresh's transaction (the row and the new data commit together);
 * ERROR/SKIPPED/BUSY go through the autocommit connection (the refresh transaction has rolled back or
 * never started).
 */
final class RefreshLog {
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
        String[] parts = split(mv);
        try (PreparedStatement ps = autocommit.prepareStatement("SELECT ops.opsmv_log_running(?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setObject(1, runId);
            ps.setString(2, parts[0]);
            ps.setString(3, parts[1]);
            ps.setString(4, m.method());
            ps.setString(5, m.fallbackReason());
            ps.setInt(6, backendPid);
            ps.setString(7, clientHost);
            ps.setString(8, applicationName);
            return id(ps);
        }
    }

    /** A row that is final at once: SKIPPED, BUSY, or an ERROR that never started (refused). */
    long finalRow(String mv, String status, String method, String message, Integer backendPid) throws SQLException {
        String[] parts = split(mv);
        try (PreparedStatement ps = autocommit.prepareStatement("SELECT ops.opsmv_log_final(?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setObject(1, runId);
            ps.setString(2, parts[0]);
            ps.setString(3, parts[1]);
            ps.setString(4, status);
            ps.setString(5, method);
            ps.setString(6, message);
            if (backendPid == null) {
                ps.setNull(7, Types.INTEGER);
            } else {
                ps.setInt(7, backendPid);
            }
            ps.setString(8, clientHost);
            ps.setString(9, applicationName);
            return id(ps);
        }
    }

    /** OK, on the refreshing connection inside its transaction. */
    static void ok(Connection tx, long refreshId, long rows) throws SQLException {
        ok(tx, refreshId, rows, null);
    }

    /** OK with a note in fallback_reason (a swap's lock time), or the RUNNING row's reason kept when null. */
    static void ok(Connection tx, long refreshId, long rows, String note) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("SELECT ops.opsmv_log_ok(?, ?, ?)")) {
            ps.setLong(1, refreshId);
            ps.setLong(2, rows);
            ps.setString(3, note);
            ps.executeQuery().close();
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
        try (PreparedStatement ps = autocommit.prepareStatement("SELECT ops.opsmv_log_failed(?, ?, 'ERROR')")) {
            ps.setLong(1, refreshId);
            ps.setString(2, message);
            ps.executeQuery().close();
        }
    }

    private static long id(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
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
