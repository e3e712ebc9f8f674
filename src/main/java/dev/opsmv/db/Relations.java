package dev.opsmv.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.OptionalLong;

/** Catalog lookups by schema and name, so a relation is found the same way everywhere (no search_path, no quoting rules). */
public final class Relations {
    private Relations() {
    }

    /**
     * The oid of {@code schema.name} when it exists with one of {@code relkinds} (pg_class.relkind letters:
     * "r" table, "m" materialized view, "i" index, "v" view; empty: any).
     */
    public static OptionalLong oid(Connection c, String schema, String name, String relkinds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ? AND c.relname = ? AND (? = '' OR strpos(?, c.relkind::text) > 0)""")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            ps.setString(3, relkinds);
            ps.setString(4, relkinds);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
        }
    }

    public static boolean exists(Connection c, String schema, String name, String relkinds) throws SQLException {
        return oid(c, schema, name, relkinds).isPresent();
    }

    /**
     * Those of {@code columns} that {@code schema.name} does not have (empty when it has them all, or does not
     * exist: that is another message). A definition imported narrower than the bundle's lacks some.
     */
    public static java.util.List<String> missingColumns(Connection c, String schema, String name, java.util.List<String> columns) throws SQLException {
        java.util.List<String> out = new java.util.ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT col FROM unnest(?::text[]) col
                WHERE EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?)
                  AND NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                                  WHERE n.nspname = ? AND c.relname = ? AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped)""")) {
            ps.setArray(1, c.createArrayOf("text", columns.toArray()));
            ps.setString(2, schema);
            ps.setString(3, name);
            ps.setString(4, schema);
            ps.setString(5, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** One line for a relation that lacks columns the product reads: what is missing, why, what follows. */
    public static String missingColumnsLine(String relation, java.util.List<String> missing, String follows) {
        return relation + " has no column " + String.join(", ", missing) + " (its definition here is narrower than the bundle's: "
                + "docs/ADOPTION.md#every-shape-at-a-glance): " + follows;
    }
}
