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
}
