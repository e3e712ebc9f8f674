package dev.opsmv.swap;

import static dev.opsmv.swap.RelationCatalog.ident;
import static dev.opsmv.swap.RelationCatalog.q;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * What a new MV built beside the serving one takes over from it, so that after the swap it is the same
 * object with new rows: owner (set before the new MV is populated, so that PostgreSQL's REFRESH computes
 * it with the owner's rights in its restricted mode, row-level security included, exactly as a
 * REFRESH of the old MV would), table and column grants re-made by their own grantors (so that
 * {@code REVOKE … CASCADE} from a grantor still reaches them), comments of the MV, its columns and
 * indexes, column statistics targets, options and storage, index column statistics targets, the
 * CLUSTER mark. Storage parameters (heap and TOAST) and the tablespace go into the CREATE itself.
 *
 * <p>Read from the old MV once, before anything is built; applied to the new one in two steps.
 */
final class Carry {
    /** One ACL item of the old MV: a column's when {@code column} is not null. */
    record Grant(String column, String privilege, String grantee, String grantor, boolean grantable) {
        String sql(String target) {
            return "GRANT " + privilege + (column == null ? "" : " (" + ident(column) + ")") + " ON " + target + " TO " + grantee
                    + (grantable ? " WITH GRANT OPTION" : "");
        }
    }

    /** A column setting that is not the default: ALTER … ALTER COLUMN {@code column} {@code clause}. */
    record ColumnSetting(String column, String clause) {
    }

    final long oid;
    /** "MATERIALIZED VIEW" or "VIEW": what ALTER and COMMENT call the relation. */
    final String kind;
    final String owner;
    final String comment;
    final String reloptions;
    final String toastOptions;
    final String tablespace;
    private final boolean hasAcl;
    private final Set<String> ownerPrivileges = new HashSet<>();
    private final List<Grant> grants = new ArrayList<>();
    private final Map<String, String> columnComments = new LinkedHashMap<>();
    private final List<ColumnSetting> columnSettings = new ArrayList<>();
    private final Map<String, String> indexComments = new LinkedHashMap<>();
    private final Map<String, List<String>> indexStatistics = new LinkedHashMap<>();
    private final String clusteredOn;

    private Carry(long oid, ResultSet rel) throws SQLException {
        this.oid = oid;
        this.kind = "v".equals(rel.getString(8)) ? "VIEW" : "MATERIALIZED VIEW";
        this.owner = rel.getString(1);
        this.comment = rel.getString(2);
        this.reloptions = emptyToNull(rel.getString(3));
        this.tablespace = rel.getString(4);
        this.toastOptions = emptyToNull(rel.getString(5));
        this.hasAcl = rel.getBoolean(6);
        this.clusteredOn = rel.getString(7);
    }

    static Carry of(Connection c, long oid) throws SQLException {
        Carry carry;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT pg_get_userbyid(m.relowner), obj_description(m.oid, 'pg_class'), array_to_string(m.reloptions, ', '),
                       (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = m.reltablespace),
                       (SELECT string_agg('toast.' || o, ', ') FROM pg_class t, unnest(t.reloptions) o WHERE t.oid = m.reltoastrelid),
                       m.relacl IS NOT NULL,
                       (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                        WHERE i.indrelid = m.oid AND i.indisclustered),
                       m.relkind::text
                FROM pg_class m WHERE m.oid = ?
                """)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                carry = new Carry(oid, rs);
            }
        }
        carry.read(c);
        return carry;
    }

    private void read(Connection c) throws SQLException {
        query(c, """
                SELECT NULL, a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                       pg_get_userbyid(a.grantor), a.is_grantable, a.grantee = m.relowner
                FROM pg_class m, aclexplode(m.relacl) a WHERE m.oid = ?
                UNION ALL
                SELECT at.attname, x.privilege_type, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                       pg_get_userbyid(x.grantor), x.is_grantable, false
                FROM pg_attribute at, aclexplode(at.attacl) x
                WHERE at.attrelid = ? AND at.attnum > 0 AND NOT at.attisdropped AND at.attacl IS NOT NULL
                """, 2, rs -> {
            if (rs.getBoolean(6)) {
                ownerPrivileges.add(rs.getString(2));
            } else {
                grants.add(new Grant(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getBoolean(5)));
            }
        });
        query(c, """
                SELECT a.attname, col_description(a.attrelid, a.attnum),
                       nullif(coalesce(a.attstattarget::int, -1), -1),
                       array_to_string(a.attoptions, ', '),
                       CASE WHEN a.attstorage <> t.typstorage THEN
                            CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END END
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, 1, rs -> {
            String column = rs.getString(1);
            if (rs.getString(2) != null) {
                columnComments.put(column, rs.getString(2));
            }
            if (rs.getObject(3) != null) {
                columnSettings.add(new ColumnSetting(column, "SET STATISTICS " + rs.getInt(3)));
            }
            if (rs.getString(4) != null && !rs.getString(4).isEmpty()) {
                columnSettings.add(new ColumnSetting(column, "SET (" + rs.getString(4) + ")"));
            }
            if (rs.getString(5) != null) {
                columnSettings.add(new ColumnSetting(column, "SET STORAGE " + rs.getString(5)));
            }
        });
        query(c, """
                SELECT ic.relname, obj_description(ic.oid, 'pg_class'),
                       (SELECT string_agg(ia.attnum || ' ' || ia.attstattarget, ',' ORDER BY ia.attnum) FROM pg_attribute ia
                        WHERE ia.attrelid = ic.oid AND coalesce(ia.attstattarget::int, -1) <> -1)
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = ?
                """, 1, rs -> {
            if (rs.getString(2) != null) {
                indexComments.put(rs.getString(1), rs.getString(2));
            }
            if (rs.getString(3) != null) {
                indexStatistics.put(rs.getString(1), List.of(rs.getString(3).split(",")));
            }
        });
    }

    /** Heap and TOAST storage parameters, as WITH (…) takes them; null when there are none. */
    String storageOptions() {
        if (reloptions == null) {
            return toastOptions;
        }
        return toastOptions == null ? reloptions : reloptions + ", " + toastOptions;
    }

    /**
     * Hands the new MV to the old one's owner before it is populated: the REFRESH that fills it then runs
     * the query as that owner, with PostgreSQL's own restrictions, as a REFRESH of the old MV would.
     */
    void ownerTo(Connection c, String target) throws SQLException {
        exec(c, "ALTER " + kind + " " + target + " OWNER TO " + ident(owner));
    }

    /**
     * Everything else, once the new MV has its indexes ({@code builtName} maps an index's final name to
     * the name it has on the new MV until the swap). Columns and indexes the new MV does not have are
     * passed over: a new definition may drop a column.
     */
    void apply(Connection c, String schema, String target, List<IndexSpec> indexes, UnaryOperator<String> builtName)
            throws SQLException {
        Set<String> columns = new HashSet<>(RelationCatalog.columns(c, RelationCatalog.oidOf(c, target)));
        for (String sql : settings(schema, target, columns, indexes, builtName)) {
            exec(c, sql);
        }
        privileges(c, target, columns);
    }

    /**
     * The same as {@link #apply}, as statements to run later on a relation rebuilt from the old one's own
     * definition (same columns, same indexes): the undo of a replacement. The owner first, so that the
     * REFRESH that follows it runs with the owner's rights.
     */
    List<String> script(String schema, String target, List<String> columns, List<IndexSpec> indexes) throws SQLException {
        List<String> out = new ArrayList<>();
        out.addAll(settings(schema, target, new HashSet<>(columns), indexes, name -> name));
        // default privileges may give the rebuilt relation grants the old one had not: revoked as the owner, first
        out.add("SET ROLE " + ident(owner));
        out.add("DO $opsmv$ DECLARE g text; BEGIN FOR g IN SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
                + "ELSE quote_ident(pg_get_userbyid(a.grantee)) END FROM pg_class m, aclexplode(m.relacl) a "
                + "WHERE m.oid = " + literal(target) + "::regclass AND a.grantee <> m.relowner LOOP "
                + "EXECUTE format('REVOKE ALL ON %s FROM %s CASCADE', " + literal(target) + ", g); END LOOP; END $opsmv$");
        if (hasAcl) {
            // the owner's own privileges, where someone revoked some of them from the old MV
            out.add("DO $opsmv$ DECLARE p text; BEGIN FOR p IN SELECT a.privilege_type FROM pg_class m, aclexplode(acldefault('r', m.relowner)) a "
                    + "WHERE m.oid = " + literal(target) + "::regclass AND a.privilege_type <> ALL (" + literal("{" + String.join(",", ownerPrivileges) + "}")
                    + "::text[]) LOOP EXECUTE format('REVOKE %s ON %s FROM %I', p, " + literal(target) + ", " + literal(owner) + "); END LOOP; END $opsmv$");
        }
        out.add("RESET ROLE");
        for (Map.Entry<String, List<String>> round : grantRounds(target, new HashSet<>(columns))) {
            out.add("SET ROLE " + ident(round.getKey()));
            out.addAll(round.getValue());
            out.add("RESET ROLE");
        }
        return out;
    }

    private List<String> settings(String schema, String target, Set<String> columns, List<IndexSpec> indexes,
                                  UnaryOperator<String> builtName) {
        List<String> statements = new ArrayList<>();
        if (comment != null) {
            statements.add("COMMENT ON " + kind + " " + target + " IS " + literal(comment));
        }
        columnComments.forEach((column, text) -> {
            if (columns.contains(column)) {
                statements.add("COMMENT ON COLUMN " + target + "." + ident(column) + " IS " + literal(text));
            }
        });
        for (ColumnSetting s : columnSettings) {
            if (columns.contains(s.column())) {
                statements.add("ALTER MATERIALIZED VIEW " + target + " ALTER COLUMN " + ident(s.column()) + " " + s.clause());
            }
        }
        Set<String> built = new HashSet<>();
        for (IndexSpec i : indexes) {
            built.add(i.name());
        }
        indexComments.forEach((index, text) -> {
            if (built.contains(index)) {
                statements.add("COMMENT ON INDEX " + q(schema, builtName.apply(index)) + " IS " + literal(text));
            }
        });
        indexStatistics.forEach((index, targets) -> {
            if (built.contains(index)) {
                for (String t : targets) {
                    String[] attnumAndTarget = t.split(" ");
                    statements.add("ALTER INDEX " + q(schema, builtName.apply(index)) + " ALTER COLUMN " + attnumAndTarget[0]
                            + " SET STATISTICS " + attnumAndTarget[1]);
                }
            }
        });
        if (clusteredOn != null && built.contains(clusteredOn)) {
            statements.add("ALTER MATERIALIZED VIEW " + target + " CLUSTER ON " + ident(builtName.apply(clusteredOn)));
        }
        return statements;
    }

    /**
     * The old MV's ACL on the new one. Default privileges may have given the new MV grants the old one
     * has not: they go first. Each grant is then re-made as its grantor, in an order where the grantor
     * already holds the grant option it needs (the owner's grants first, then those of the roles they
     * made grantors), so the new ACL has the same items with the same grantors.
     */
    private void privileges(Connection c, String target, Set<String> columns) throws SQLException {
        List<String> asOwner = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
                FROM pg_class m, aclexplode(m.relacl) a WHERE m.oid = ?::regclass AND a.grantee <> m.relowner
                """)) {
            ps.setString(1, target);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    asOwner.add("REVOKE ALL ON " + target + " FROM " + rs.getString(1) + " CASCADE");
                }
            }
        }
        if (hasAcl) {
            // the owner's own privileges, where someone revoked some of them from the old MV
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT a.privilege_type FROM pg_class m, aclexplode(acldefault('r', m.relowner)) a WHERE m.oid = ?::regclass
                    """)) {
                ps.setString(1, target);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (!ownerPrivileges.contains(rs.getString(1))) {
                            asOwner.add("REVOKE " + rs.getString(1) + " ON " + target + " FROM " + ident(owner));
                        }
                    }
                }
            }
        }
        as(c, owner, asOwner);
        for (Map.Entry<String, List<String>> round : grantRounds(target, columns)) {
            as(c, round.getKey(), round.getValue());
        }
    }

    /**
     * The old MV's grants on {@code target}, as (grantor, GRANT statements) in an order where each grantor
     * already holds the grant option it needs: the owner's first, then those of the roles they made grantors.
     */
    private List<Map.Entry<String, List<String>>> grantRounds(String target, Set<String> columns) throws SQLException {
        List<Grant> pending = new ArrayList<>();
        for (Grant g : grants) {
            if (g.column() == null || columns.contains(g.column())) {
                pending.add(g);
            }
        }
        List<Map.Entry<String, List<String>>> rounds = new ArrayList<>();
        Set<String> grantors = new HashSet<>(); // "role/privilege" and "role/privilege/column" that hold the grant option
        while (!pending.isEmpty()) {
            List<Grant> ready = pending.stream().filter(g -> g.grantor().equals(owner)
                    || grantors.contains(g.grantor() + "/" + g.privilege())
                    || (g.column() != null && grantors.contains(g.grantor() + "/" + g.privilege() + "/" + g.column()))).toList();
            if (ready.isEmpty()) {
                throw new SQLException("cannot re-make the grants of " + target + " in their grantors' order: " + pending.get(0).sql(target)
                        + " (granted by " + pending.get(0).grantor() + ", who holds no grant option for it)", "0LP01");
            }
            Map<String, List<String>> byGrantor = new LinkedHashMap<>();
            for (Grant g : ready) {
                byGrantor.computeIfAbsent(g.grantor(), k -> new ArrayList<>()).add(g.sql(target));
                if (g.grantable()) {
                    grantors.add(unquote(g.grantee()) + "/" + g.privilege() + (g.column() == null ? "" : "/" + g.column()));
                }
            }
            byGrantor.forEach((grantor, sql) -> rounds.add(Map.entry(grantor, sql)));
            pending.removeAll(ready);
        }
        return rounds;
    }

    /** Runs {@code statements} as {@code role} (SET ROLE), so that PostgreSQL records that role as their grantor. */
    private static void as(Connection c, String role, List<String> statements) throws SQLException {
        if (statements.isEmpty()) {
            return;
        }
        exec(c, "SET ROLE " + ident(role));
        try {
            for (String sql : statements) {
                exec(c, sql);
            }
        } finally {
            exec(c, "RESET ROLE");
        }
    }

    private interface Row {
        void accept(ResultSet rs) throws SQLException;
    }

    private void query(Connection c, String sql, int oidParameters, Row row) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 1; i <= oidParameters; i++) {
                ps.setLong(i, oid);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    row.accept(rs);
                }
            }
        }
    }

    private static String unquote(String grantee) {
        return grantee.startsWith("\"") ? grantee.substring(1, grantee.length() - 1).replace("\"\"", "\"") : grantee;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
