package dev.opsmv.swap;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.opsmv.db.Relations;

/**
 * Rebuilds a materialized view beside the one that serves, then swaps it in: the new MV is built
 * WITH DATA under a temporary name with its indexes, the old one's owner, grants, comment and storage
 * parameters, and ANALYZEd, while readers go on reading the old one; then one short transaction under
 * lock_timeout renames the old one away (kept, or dropped) and the new one in. Readers wait only for
 * the renames; any failure leaves the old MV serving, untouched, and drops the half-built one.
 *
 * <p>The one routine behind every rebuild-and-swap: adoption's {@code update --replace-differing}
 * (new definition, old MV kept for rollback), and a definition-preserving swap refresh.
 */
public final class SideBySideSwap {
    /** An index of the new MV: its final name, and what follows {@code ON <table>} ("(a, b)", "USING btree (a) WHERE …"). */
    public record IndexSpec(String name, boolean unique, String keySql) {
    }

    /** Extra statements that must commit with the swap (a record of it, its undo). */
    public interface InSwap {
        void run(Connection tx, Swapped swapped) throws SQLException;
    }

    /** What the swap did: the undo puts the old MV (kept under {@code keptAs}) and its index names back. */
    public record Swapped(String schema, String name, String keptAs, Map<String, String> renamedOldIndexes, long rows,
                          long buildMillis, long swapMillis) {
        public String undoSql() {
            if (keptAs == null) {
                throw new IllegalStateException("the old MV was dropped: nothing to swap back");
            }
            StringBuilder sql = new StringBuilder();
            sql.append("DROP MATERIALIZED VIEW IF EXISTS ").append(q(schema, name)).append("; ");
            sql.append("ALTER MATERIALIZED VIEW ").append(q(schema, keptAs)).append(" RENAME TO ").append(ident(name)).append("; ");
            renamedOldIndexes.forEach((original, now) ->
                    sql.append("ALTER INDEX ").append(q(schema, now)).append(" RENAME TO ").append(ident(original)).append("; "));
            return sql.toString().trim();
        }
    }

    private static final int SWAP_ATTEMPTS = 3;

    private final Connection c;
    private final String lockTimeout;

    public SideBySideSwap(Connection connection, String lockTimeout) {
        this.c = connection;
        this.lockTimeout = lockTimeout;
    }

    /**
     * Rebuilds {@code schema.name} from {@code definition} (a SELECT) with {@code indexes}. With
     * {@code keepOld} the old MV stays as {@code <name>_pre_opsmv} (with its indexes renamed where the
     * new ones take their names); otherwise it is dropped in the swap.
     */
    public Swapped rebuild(String schema, String name, String definition, List<IndexSpec> indexes, boolean keepOld, InSwap inSwap)
            throws SQLException {
        c.setAutoCommit(true);
        long oldOid = oid(schema, name);
        List<String> dependents = dependents(oldOid);
        if (!dependents.isEmpty()) {
            throw new SQLException(q(schema, name) + " has dependents (" + String.join(", ", dependents)
                    + "): a swap would leave them reading the old one; rebuild them with it or drop them first", "55000");
        }
        String temp = shortName(name, "_opsmv_new");
        exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp)); // the leftover of a run that was killed
        long started = System.nanoTime();
        try {
            exec("CREATE MATERIALIZED VIEW " + q(schema, temp) + " AS " + definition + " WITH DATA");
            for (IndexSpec i : indexes) {
                exec("CREATE " + (i.unique() ? "UNIQUE " : "") + "INDEX " + ident(shortName(i.name(), "_opsmv_new"))
                        + " ON " + q(schema, temp) + " " + i.keySql());
            }
            copyOwnershipGrantsAndSettings(oldOid, q(schema, temp));
            exec("ANALYZE " + q(schema, temp));
            long rows = count(q(schema, temp));
            long buildMillis = (System.nanoTime() - started) / 1_000_000;
            return swap(schema, name, temp, indexes, keepOld, rows, buildMillis, inSwap);
        } catch (SQLException e) {
            if (!c.getAutoCommit()) {
                c.rollback();
                c.setAutoCommit(true);
            }
            try {
                exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp));
            } catch (SQLException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private Swapped swap(String schema, String name, String temp, List<IndexSpec> indexes, boolean keepOld, long rows,
                         long buildMillis, InSwap inSwap) throws SQLException {
        SQLException last = null;
        for (int attempt = 1; attempt <= SWAP_ATTEMPTS; attempt++) {
            c.setAutoCommit(false);
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL lock_timeout = '" + lockTimeout.replace("'", "") + "'");
                String keptAs = null;
                Map<String, String> renamed = new LinkedHashMap<>();
                if (keepOld) {
                    keptAs = shortName(name, "_pre_opsmv");
                    st.execute("ALTER MATERIALIZED VIEW " + q(schema, name) + " RENAME TO " + ident(keptAs));
                    for (IndexSpec i : indexes) {
                        if (indexExists(schema, i.name())) {
                            String aside = shortName(i.name(), "_pre_opsmv");
                            st.execute("ALTER INDEX " + q(schema, i.name()) + " RENAME TO " + ident(aside));
                            renamed.put(i.name(), aside);
                        }
                    }
                } else {
                    st.execute("DROP MATERIALIZED VIEW " + q(schema, name));
                }
                st.execute("ALTER MATERIALIZED VIEW " + q(schema, temp) + " RENAME TO " + ident(name));
                for (IndexSpec i : indexes) {
                    st.execute("ALTER INDEX " + q(schema, shortName(i.name(), "_opsmv_new")) + " RENAME TO " + ident(i.name()));
                }
                Swapped swapped = new Swapped(schema, name, keptAs, renamed, rows, buildMillis, (System.nanoTime() - t0) / 1_000_000);
                if (inSwap != null) {
                    inSwap.run(c, swapped);
                }
                c.commit();
                c.setAutoCommit(true);
                return swapped;
            } catch (SQLException e) {
                c.rollback();
                c.setAutoCommit(true);
                if (!"55P03".equals(e.getSQLState())) {
                    throw e;
                }
                last = e; // a long reader held the old MV past the lock timeout: new readers were never queued longer
                sleep(200L * attempt);
            }
        }
        throw last;
    }

    private void copyOwnershipGrantsAndSettings(long oldOid, String target) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT quote_ident(pg_get_userbyid(c.relowner)), obj_description(c.oid, 'pg_class'), array_to_string(c.reloptions, ', ')
                FROM pg_class c WHERE c.oid = ?
                """)) {
            ps.setLong(1, oldOid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                exec("ALTER MATERIALIZED VIEW " + target + " OWNER TO " + rs.getString(1));
                if (rs.getString(2) != null) {
                    exec("COMMENT ON MATERIALIZED VIEW " + target + " IS " + literal(rs.getString(2)));
                }
                if (rs.getString(3) != null && !rs.getString(3).isEmpty()) {
                    exec("ALTER MATERIALIZED VIEW " + target + " SET (" + rs.getString(3) + ")");
                }
            }
        }
        List<String> grants = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                       a.is_grantable
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = ? AND a.grantee <> c.relowner
                """)) {
            ps.setLong(1, oldOid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    grants.add("GRANT " + rs.getString(1) + " ON " + target + " TO " + rs.getString(2)
                            + (rs.getBoolean(3) ? " WITH GRANT OPTION" : ""));
                }
            }
        }
        for (String g : grants) {
            exec(g);
        }
    }

    private List<String> dependents(long oid) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT rw.ev_class::regclass::text
                FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
                WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = ? AND rw.ev_class <> d.refobjid
                ORDER BY 1
                """)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private long oid(String schema, String name) throws SQLException {
        return Relations.oid(c, schema, name, "m")
                .orElseThrow(() -> new SQLException("materialized view " + q(schema, name) + " does not exist", "42P01"));
    }

    private boolean indexExists(String schema, String index) throws SQLException {
        return Relations.exists(c, schema, index, "i");
    }

    private long count(String table) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void exec(String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** PostgreSQL truncates identifiers at 63 bytes: keep the suffix, shorten the stem. */
    static String shortName(String name, String suffix) {
        int room = 63 - suffix.length();
        return (name.length() > room ? name.substring(0, room) : name) + suffix;
    }

    static String q(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
