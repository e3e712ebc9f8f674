package dev.opsmv.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.opsmv.db.ConnectionSpec;

/** Small query helpers for assertions. */
public final class Sql {
    private Sql() {
    }

    public static List<Map<String, Object>> rows(ConnectionSpec spec, String sql) {
        try (Connection c = spec.open("opsmv-tests")) {
            return rows(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    public static List<Map<String, Object>> rows(Connection c, String sql) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnLabel(i), rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    public static Object value(ConnectionSpec spec, String sql) {
        List<Map<String, Object>> rows = rows(spec, sql);
        if (rows.isEmpty()) {
            return null;
        }
        return rows.get(0).values().iterator().next();
    }

    public static long count(ConnectionSpec spec, String sql) {
        return ((Number) value(spec, sql)).longValue();
    }

    public static List<String> strings(ConnectionSpec spec, String sql) {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> row : rows(spec, sql)) {
            Object v = row.values().iterator().next();
            out.add(v == null ? null : v.toString());
        }
        return out;
    }

    public static void exec(ConnectionSpec spec, String... statements) {
        try (Connection c = spec.open("opsmv-tests"); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
