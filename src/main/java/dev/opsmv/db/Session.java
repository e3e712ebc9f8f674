package dev.opsmv.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * The one place that writes session settings and reads one value: every {@code SET}, {@code SET LOCAL}
 * and {@code RESET} the runner sends goes through here, and so does every "prepare, bind, read the first
 * column of the first row". Values go to the server as bind parameters of {@code set_config}, so no
 * setting's value is ever spliced into SQL text; a timeout is a {@link Duration} written in
 * PostgreSQL's own form ({@link Durations#setting}), whatever form the user typed ("5m", "PT5M").
 */
public final class Session {
    private Session() {
    }

    /** {@code SET name = d} for the rest of the session; nothing when {@code d} is null (the server's value stays). */
    public static void set(Connection c, String name, Duration d) throws SQLException {
        if (d != null) {
            setConfig(c, name, Durations.setting(d), false);
        }
    }

    /** {@code SET LOCAL name = d}: until the open transaction ends; nothing when {@code d} is null. */
    public static void setLocal(Connection c, String name, Duration d) throws SQLException {
        if (d != null) {
            setConfig(c, name, Durations.setting(d), true);
        }
    }

    /** {@code SET name = value}, the value as the server reads a setting's text (a search_path's identifiers quoted). */
    public static void set(Connection c, String name, String value) throws SQLException {
        setConfig(c, name, value, false);
    }

    /** {@code SET LOCAL name = value}. */
    public static void setLocal(Connection c, String name, String value) throws SQLException {
        setConfig(c, name, value, true);
    }

    /** {@code RESET name}: back to the value the session started with. */
    public static void reset(Connection c, String name) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("RESET " + identifier(name));
        }
    }

    /** The first column of the first row as text; null when there is no row (or the value is NULL). */
    public static String text(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** The first column of the first row as a long; {@code orElse} when there is no row or it is NULL. */
    public static long number(Connection c, long orElse, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return orElse;
            }
            long v = rs.getLong(1);
            return rs.wasNull() ? orElse : v;
        }
    }

    /** The first column of the first row as a boolean; false when there is no row or it is NULL. */
    public static boolean isTrue(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** Whether the query returns a row at all. */
    public static boolean exists(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    /** Work on a connection that may throw SQLException. */
    public interface Work<T> {
        T run() throws SQLException;
    }

    /**
     * Runs {@code work} and undoes everything it did: under a savepoint when the caller has a transaction open
     * (which goes on), else in a transaction of its own; rolled back either way, what SET LOCAL changed with it.
     * For probes and reads that must leave no trace.
     */
    public static <T> T rolledBack(Connection c, Work<T> work) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        java.sql.Savepoint savepoint = autoCommit ? null : c.setSavepoint();
        try {
            return work.run();
        } finally {
            if (savepoint != null) {
                c.rollback(savepoint);
            } else {
                c.rollback();
                c.setAutoCommit(true);
            }
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... params) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
        } catch (SQLException e) {
            ps.close();
            throw e;
        }
        return ps;
    }

    private static void setConfig(Connection c, String name, String value, boolean local) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT set_config(?, ?, ?)")) {
            ps.setString(1, name);
            ps.setString(2, value);
            ps.setBoolean(3, local);
            ps.execute();
        }
    }

    // RESET takes a name, not a value: only a setting's name (letters, digits, _ and a dot) may reach the SQL text
    private static String identifier(String name) {
        if (!name.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
            throw new IllegalArgumentException("not a setting name: " + name);
        }
        return name;
    }
}
