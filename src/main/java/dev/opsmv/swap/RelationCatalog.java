package dev.opsmv.swap;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.Relations;
import dev.opsmv.db.Session;

/**
 * What a rebuild reads of a relation from the catalog, in terms that mean the same whatever search_path
 * runs them again: its query, columns, indexes (and what columns they read), its oid; and how names are quoted.
 * The single swap and the chain swap both build from these.
 */
final class RelationCatalog {
    private RelationCatalog() {
    }

    /** The MV's query, columns and indexes from the catalog. */
    static MvDefinition definition(Connection c, String schema, String name) throws SQLException {
        long oid = oidOf(c, q(schema, name));
        return inCatalogTerms(c, () -> {
            String query;
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_viewdef(?::oid)")) {
                ps.setLong(1, oid);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    // the non-pretty form: PostgreSQL's advice for output that is to be run again
                    query = rs.getString(1).trim().replaceAll(";$", "");
                }
            }
            return new MvDefinition(query, columns(c, oid), indexes(c, oid));
        });
    }

    /**
     * The valid indexes of the relation {@code oid}, as the catalog defines them (run with only pg_catalog on
     * the search_path, so that every name in them is qualified).
     */
    static List<IndexSpec> indexes(Connection c, long oid) throws SQLException {
        List<IndexSpec> indexes = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid),
                       'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ic.relname)
                           || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(m.relname) || ' ',
                       ts.spcname
                FROM pg_index i
                JOIN pg_class ic ON ic.oid = i.indexrelid
                JOIN pg_class m ON m.oid = i.indrelid
                JOIN pg_namespace n ON n.oid = m.relnamespace
                LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
                WHERE i.indrelid = ?::oid
                ORDER BY ic.relname
                """)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String def = rs.getString(3);
                    String prefix = rs.getString(4);
                    if (!def.startsWith(prefix)) {
                        throw new SQLException("unexpected definition of index " + rs.getString(1) + ": " + def, "XX000");
                    }
                    indexes.add(new IndexSpec(rs.getString(1), rs.getBoolean(2), def.substring(prefix.length()), rs.getString(5)));
                }
            }
        }
        return indexes;
    }

    /** The columns an index reads (keys, expressions, predicate). */
    static List<String> indexColumns(Connection c, String schema, String index) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT a.attname FROM pg_depend d
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = ?::oid AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                """)) {
            ps.setLong(1, Relations.oid(c, schema, index, "i").orElseThrow());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** The relation's column names, in order. */
    static List<String> columns(Connection c, long oid) throws SQLException {
        List<String> columns = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT attname FROM pg_attribute WHERE attrelid = ?::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(rs.getString(1));
                }
            }
        }
        return columns;
    }

    /** The oid of a relation named by its quoted, qualified name. */
    static long oidOf(Connection c, String qualified) throws SQLException {
        return Session.number(c, 0, "SELECT ?::regclass::oid::bigint", qualified);
    }

    interface CatalogRead<T> {
        T read() throws SQLException;
    }

    /**
     * Runs {@code read} with only pg_catalog on the search_path: pg_get_viewdef and pg_get_indexdef then
     * qualify every name (as Import does), so what they return means the same whatever search_path runs it.
     */
    static <T> T inCatalogTerms(Connection c, CatalogRead<T> read) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        if (!autoCommit) {
            // inside the caller's transaction: change the setting for the read only, commit nothing
            String before = Session.text(c, "SELECT current_setting('search_path')");
            Session.setLocal(c, "search_path", "pg_catalog");
            T result = read.read();
            Session.setLocal(c, "search_path", before);
            return result;
        }
        c.setAutoCommit(false);
        try {
            Session.setLocal(c, "search_path", "pg_catalog");
            T result = read.read();
            c.commit();
            return result;
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    /** A qualified, quoted name. */
    static String q(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    /** A quoted identifier. */
    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
