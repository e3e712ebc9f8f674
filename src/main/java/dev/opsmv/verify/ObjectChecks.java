package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import dev.opsmv.migrate.BundleObjects;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;

/**
 * The bundle is deployed; every base index, MV and MV index the applied changesets built is there and usable.
 * What is expected is replayed from the changelog: nothing to keep in step by hand.
 */
final class ObjectChecks {
    private static final Check.Section SECTION = Check.Section.OBJECTS;

    private final Connection c;
    private final Checklist list;

    private ObjectChecks(Connection c, Checklist list) {
        this.c = c;
        this.list = list;
    }

    /** Returns the bundle's MVs of schema ops (names without the schema), for the sections that follow. */
    static List<String> run(Connection c, String sourceSchema, Checklist list) throws SQLException {
        BundleObjects.Owned owned;
        try {
            // the changesets' DDL with the source_schema this database was deployed with: the base indexes live there
            owned = BundleObjects.applied(c, Migrator.bundle(c, null,
                    Changelog.DEFAULT_SOURCE_SCHEMA.equals(sourceSchema) ? null : sourceSchema));
        } catch (SQLException e) {
            throw e;
        } catch (Exception e) {
            throw new SQLException("cannot read the changelog the bundle applied: " + e.getMessage(), e);
        }
        list.add(SECTION, owned.appliedChangesets() > 0, "bundle deployed", owned.appliedChangesets() == 0
                ? "no changeset of the bundle is applied here: run `opsmv update` first"
                : owned.appliedChangesets() + " changeset(s) applied, " + owned.mvs().size() + " MVs and " + owned.indexes().size() + " indexes owned");
        List<String> mvs = owned.mvs().stream().filter(q -> q.startsWith("ops.")).map(q -> q.substring(4)).toList();
        ObjectChecks checks = new ObjectChecks(c, list);
        for (BundleObjects.Index ix : owned.indexes()) {
            if (!"ops".equals(ix.schema())) {
                checks.index(ix.schema(), ix.table(), ix.name(), ix.unique(), "base index", ix.file());
            }
        }
        for (String mv : mvs) {
            checks.mv(mv);
        }
        for (BundleObjects.Index ix : owned.indexes()) {
            if ("ops".equals(ix.schema())) {
                checks.index(ix.schema(), ix.table(), ix.name(), ix.unique(), "MV index", ix.file());
            }
        }
        return mvs;
    }

    /** The name an adopted database keeps for a bundle index it already had under another name (ops.opsmv_adoption). */
    private String adoptedUnderAnotherName(String bundleIndex) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT substring(a.detail FROM 'the same index exists as ([^: ]+)')
                FROM ops.opsmv_adoption a
                WHERE to_regclass('ops.opsmv_adoption') IS NOT NULL AND a.object = ? AND a.action = 'adopt'""")) {
            ps.setString(1, bundleIndex);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                return null; // a bundle from before adoption existed: no record
            }
            throw e;
        }
    }

    private boolean validIndex(String qualifiedName) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT x.indisvalid AND x.indisready FROM pg_index x WHERE x.indexrelid = to_regclass(?)")) {
            ps.setString(1, qualifiedName);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private void index(String schema, String table, String name, boolean unique, String what, String file) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT t.relname, x.indisvalid, x.indisready, x.indisunique
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace n ON n.oid = i.relnamespace
                WHERE n.nspname = ? AND i.relname = ?""")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                String label = what + " " + schema + "." + name;
                if (!rs.next()) {
                    String alias = adoptedUnderAnotherName(schema + "." + name);
                    if (alias != null && validIndex(alias)) {
                        list.add(SECTION, true, label, "adopted under its existing name " + alias + " (the same index: not built twice)");
                        return;
                    }
                    list.add(SECTION, false, label, "missing: recreate it with the statement of the changeset that built it (" + file + ")");
                } else if (!rs.getString(1).equals(table)) {
                    list.add(SECTION, false, label, "is on " + rs.getString(1) + ", expected on " + table);
                } else if (!rs.getBoolean(2) || !rs.getBoolean(3)) {
                    list.add(SECTION, false, label, "INVALID (left by a failed CREATE INDEX CONCURRENTLY): reads ignore it; `opsmv update` "
                            + "drops and rebuilds it when its changeset did not complete, else DROP INDEX CONCURRENTLY and recreate it");
                } else if (unique && !rs.getBoolean(4)) {
                    list.add(SECTION, false, label, "present but not UNIQUE");
                } else {
                    list.add(SECTION, true, label, "present and valid on " + schema + "." + table + (unique ? " (unique)" : ""));
                }
            }
        }
    }

    private void mv(String mv) throws SQLException {
        String label = "MV ops." + mv;
        Boolean populated = null;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT c.relispopulated FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE n.nspname = 'ops' AND c.relname = ? AND c.relkind = 'm'")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    populated = rs.getBoolean(1);
                }
            }
        }
        if (populated == null) {
            list.add(SECTION, false, label, "missing");
            return;
        }
        if (!populated) {
            list.add(SECTION, false, label, "present but NOT populated (run `opsmv refresh` or REFRESH MATERIALIZED VIEW ops." + mv + ")");
            return;
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM ops." + mv + ")")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                list.add(SECTION, false, label, "present and populated but EMPTY (no rows: are the source tables loaded?)");
            } else {
                list.add(SECTION, true, label, "present, populated, not empty");
            }
        }
    }
}
