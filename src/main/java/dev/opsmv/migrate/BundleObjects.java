package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The materialized views and indexes the bundle owns on this database, derived from the changesets
 * it has applied (DATABASECHANGELOG, in execution order) by replaying their DDL: CREATE, the
 * rename-and-swap of a definition change, DROP. So `verify` expects exactly what the applied
 * releases built (v1.1's third index, an imported version's indexes), with no list to keep in step.
 */
public final class BundleObjects {
    /** An index the bundle owns: where it lives, on what, and the changelog file whose changeset built it. */
    public record Index(String schema, String name, String tableSchema, String table, boolean unique, String file) {
        public String qualifiedName() {
            return schema + "." + name;
        }
    }

    /** {@code mvs}: qualified names, in the order they were built (upstream first). */
    public record Owned(int appliedChangesets, List<String> mvs, List<Index> indexes, Map<String, String> mvFiles) {
    }

    private static final Pattern CREATE_MV = Pattern.compile("^CREATE MATERIALIZED VIEW (?:IF NOT EXISTS )?(\\w+)\\.(\\w+)\\b");
    private static final Pattern CREATE_INDEX = Pattern.compile(
            "^CREATE (UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(\\w+)\\s+ON (?:ONLY )?(\\w+)\\.(\\w+)\\b");
    private static final Pattern RENAME_MV = Pattern.compile("^ALTER MATERIALIZED VIEW (\\w+)\\.(\\w+) RENAME TO (\\w+)");
    private static final Pattern RENAME_INDEX = Pattern.compile("^ALTER INDEX (\\w+)\\.(\\w+) RENAME TO (\\w+)");
    private static final Pattern DROP_MV = Pattern.compile("^DROP MATERIALIZED VIEW (?:IF EXISTS )?(\\w+)\\.(\\w+)");
    private static final Pattern DROP_INDEX = Pattern.compile("^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(\\w+)\\.(\\w+)");

    private BundleObjects() {
    }

    public static Owned applied(Connection c, Migrator migrator) throws Exception {
        List<String[]> applied = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('databasechangelog') IS NOT NULL")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return new Owned(0, List.of(), List.of(), Map.of());
            }
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT filename, id FROM databasechangelog WHERE author = 'opsmv' ORDER BY orderexecuted")) {
            while (rs.next()) {
                applied.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        Map<String, String> sqlByChangeset = new LinkedHashMap<>();
        for (Migrator.ChangeSetSql cs : migrator.changeSetSources()) {
            sqlByChangeset.put(cs.file() + "::" + cs.id(), cs.sql());
        }
        Map<String, String> mvs = new LinkedHashMap<>();
        Map<String, Index> indexes = new LinkedHashMap<>();
        for (String[] a : applied) {
            String sql = sqlByChangeset.get(a[0] + "::" + a[1]);
            if (sql == null) {
                continue;
            }
            for (String statement : statements(sql)) {
                replay(statement, a[0], mvs, indexes);
            }
        }
        List<Index> owned = indexes.values().stream()
                .filter(i -> mvs.containsKey(i.tableSchema() + "." + i.table()) || i.name().startsWith("idx_") && !"ops".equals(i.tableSchema()))
                .toList();
        return new Owned(applied.size(), List.copyOf(mvs.keySet()), owned, Map.copyOf(mvs));
    }

    private static void replay(String statement, String file, Map<String, String> mvs, Map<String, Index> indexes) {
        Matcher m;
        if ((m = CREATE_MV.matcher(statement)).find()) {
            mvs.put(m.group(1) + "." + m.group(2), file);
        } else if ((m = CREATE_INDEX.matcher(statement)).find()) {
            // an index lives in its table's schema
            indexes.put(m.group(3) + "." + m.group(2), new Index(m.group(3), m.group(2), m.group(3), m.group(4), m.group(1) != null, file));
        } else if ((m = RENAME_MV.matcher(statement)).find()) {
            String from = m.group(1) + "." + m.group(2);
            String newName = m.group(3);
            String origin = mvs.remove(from);
            if (origin != null) {
                mvs.put(m.group(1) + "." + newName, origin);
            }
            indexes.replaceAll((k, i) -> (i.tableSchema() + "." + i.table()).equals(from)
                    ? new Index(i.schema(), i.name(), i.tableSchema(), newName, i.unique(), i.file()) : i);
        } else if ((m = RENAME_INDEX.matcher(statement)).find()) {
            Index i = indexes.remove(m.group(1) + "." + m.group(2));
            if (i != null) {
                indexes.put(m.group(1) + "." + m.group(3), new Index(i.schema(), m.group(3), i.tableSchema(), i.table(), i.unique(), i.file()));
            }
        } else if ((m = DROP_MV.matcher(statement)).find()) {
            String gone = m.group(1) + "." + m.group(2);
            mvs.remove(gone);
            indexes.values().removeIf(i -> (i.tableSchema() + "." + i.table()).equals(gone));
        } else if ((m = DROP_INDEX.matcher(statement)).find()) {
            indexes.remove(m.group(1) + "." + m.group(2));
        }
    }

    /** Top-level statements, comments and function bodies left out (a CREATE INDEX inside PL/pgSQL is not the bundle's DDL). */
    static List<String> statements(String sql) {
        StringBuilder plain = new StringBuilder();
        for (String line : sql.split("\n")) {
            String t = line.strip();
            if (!t.startsWith("--")) {
                plain.append(t).append(' ');
            }
        }
        String text = plain.toString().replaceAll("\\$(\\w*)\\$.*?\\$\\1\\$", "''");
        List<String> out = new ArrayList<>();
        for (String s : text.split(";")) {
            String t = s.strip().replaceAll("\\s+", " ");
            if (!t.isEmpty()) {
                out.add(t.toUpperCase(Locale.ROOT).startsWith("CREATE") || t.toUpperCase(Locale.ROOT).startsWith("ALTER")
                        || t.toUpperCase(Locale.ROOT).startsWith("DROP") ? t : "");
            }
        }
        return out;
    }
}
