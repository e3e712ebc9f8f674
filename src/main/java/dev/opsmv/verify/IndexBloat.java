package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * How much of each index of an MV a rebuild ({@code opsmv reindex}) would give back, estimated without
 * writing anything.
 *
 * <p>With the pgstattuple extension installed (and EXECUTE on it), {@code pgstatindex} measures the leaf
 * pages' fill: a fresh btree packs its leaves to the fillfactor (90% by default), so the pages a rebuild
 * needs are leaf_pages × avg_leaf_density / fillfactor, plus the internal levels and the meta page. It reads
 * every page of the index.
 *
 * <p>Without it, the estimate comes from the catalog alone: the rows the MV holds (pg_class.reltuples, as of
 * its last VACUUM, ANALYZE or index build) times the size of one index entry (the key columns' average width
 * from pg_stats, aligned as PostgreSQL lays out an index tuple, plus its line pointer), packed to the fillfactor
 * on pages of block_size minus the page header and the btree special space. A fresh btree comes out within a
 * page or two of this; btree deduplication (PostgreSQL 13+) makes indexes with many equal keys smaller than
 * estimated, which only ever hides bloat (an estimate below zero counts as none).
 */
public final class IndexBloat {
    public static final String PGSTATINDEX = "pgstatindex";
    public static final String CATALOG = "catalog estimate";
    private static final int PAGE_HEADER = 24;
    private static final int BTREE_SPECIAL = 16;
    private static final int LINE_POINTER = 4;
    private static final int INDEX_TUPLE_HEADER = 8;
    private static final int MAXALIGN = 8;
    /** btree builds fill internal pages to 70% (BTREE_NONLEAF_FILLFACTOR). */
    private static final double NONLEAF_FILL = 0.70;

    /**
     * One index: its size now and what a rebuild would need ({@code freshBytes} null when it cannot be
     * estimated, {@code note} says why).
     */
    public record Estimate(String index, long bytes, Long freshBytes, String method, String note) {
        /** Share of the index a rebuild would give back, 0 to 1; null when unknown. */
        public Double bloat() {
            if (freshBytes == null || bytes == 0) {
                return freshBytes == null ? null : 0.0;
            }
            return Math.max(0, bytes - freshBytes) / (double) bytes;
        }

        /** Bytes a rebuild would give back; null when unknown. */
        public Long bloatBytes() {
            return freshBytes == null ? null : Math.max(0, bytes - freshBytes);
        }
    }

    private IndexBloat() {
    }

    /** The schema pgstattuple is installed in, or null. */
    public static String pgstattupleSchema(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Every index of {@code mv} ("schema.name"), by name. Runs in autocommit; reads only. */
    public static List<Estimate> estimate(Connection c, String mv) throws SQLException {
        String pgstattuple = pgstattupleSchema(c);
        List<Estimate> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT quote_ident(n.nspname) || '.' || quote_ident(i.relname), am.amname, x.indisvalid AND x.indisready,
                       pg_relation_size(i.oid),
                       coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::int FROM unnest(i.reloptions) o
                                 WHERE o LIKE 'fillfactor=%'), 90),
                       t.reltuples::float8, current_setting('block_size')::int
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace n ON n.oid = i.relnamespace
                JOIN pg_am am ON am.oid = i.relam
                WHERE x.indrelid = ?::regclass
                ORDER BY i.relname""")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String index = rs.getString(1);
                    long bytes = rs.getLong(4);
                    if (!"btree".equals(rs.getString(2))) {
                        out.add(new Estimate(index, bytes, null, null, rs.getString(2) + " index: no estimate"));
                    } else if (!rs.getBoolean(3)) {
                        out.add(new Estimate(index, bytes, null, null, "INVALID: no estimate"));
                    } else {
                        out.add(btree(c, pgstattuple, index, bytes, rs.getInt(5), rs.getDouble(6), rs.getInt(7)));
                    }
                }
            }
        }
        return out;
    }

    private static Estimate btree(Connection c, String pgstattuple, String index, long bytes, int fillfactor, double reltuples,
                                  int blockSize) throws SQLException {
        String fallbackNote = null;
        if (pgstattuple != null) {
            try {
                return measured(c, pgstattuple, index, bytes, fillfactor, blockSize);
            } catch (SQLException e) {
                // No EXECUTE on pgstatindex (it is granted to pg_stat_scan_tables), or the extension is broken: the catalog still answers.
                fallbackNote = "pgstatindex failed (" + oneLine(e) + ")";
            }
        }
        Estimate e = fromCatalog(c, index, bytes, fillfactor, reltuples, blockSize);
        if (fallbackNote == null) {
            return e;
        }
        return new Estimate(e.index(), e.bytes(), e.freshBytes(), e.method(), e.note() == null ? fallbackNote : fallbackNote + "; " + e.note());
    }

    private static Estimate measured(Connection c, String schema, String index, long bytes, int fillfactor, int blockSize)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT leaf_pages, internal_pages, avg_leaf_density FROM "
                + schema + ".pgstatindex(?::regclass)")) {
            ps.setString(1, index);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long leaf = rs.getLong(1);
                long internal = rs.getLong(2);
                double density = rs.getDouble(3); // NaN for an index without leaf pages
                double freshLeaf = leaf == 0 || Double.isNaN(density) ? 0 : Math.ceil(leaf * density / fillfactor);
                // The internal levels shrink with the leaves (at least a root once there are two leaves).
                double freshInternal = leaf == 0 ? 0 : Math.min(internal, Math.max(freshLeaf > 1 ? 1 : 0, Math.ceil(internal * freshLeaf / leaf)));
                long fresh = (long) (Math.max(1, freshLeaf) + freshInternal + 1) * blockSize;
                return new Estimate(index, bytes, Math.min(fresh, bytes), PGSTATINDEX, null);
            }
        }
    }

    /** The catalog estimate (class comment); unknown without a row count or a width for every key column. */
    static Estimate fromCatalog(Connection c, String index, long bytes, int fillfactor, double reltuples, int blockSize)
            throws SQLException {
        if (reltuples < 0) {
            return new Estimate(index, bytes, null, CATALOG, "no row count yet (never vacuumed or analyzed): ANALYZE the MV, or install pgstattuple");
        }
        int data = 0;
        boolean nulls = false;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT ia.attname, ty.typlen, ty.typalign, s.avg_width, coalesce(s.null_frac, 0)
                FROM pg_attribute ia
                JOIN pg_class i ON i.oid = ia.attrelid
                JOIN pg_index x ON x.indexrelid = i.oid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace tn ON tn.oid = t.relnamespace
                JOIN pg_type ty ON ty.oid = ia.atttypid
                LEFT JOIN pg_attribute ta ON ta.attrelid = t.oid AND ta.attnum = x.indkey[ia.attnum - 1] AND ta.attnum > 0
                LEFT JOIN pg_stats s ON s.schemaname = tn.nspname AND NOT s.inherited
                     AND ((ta.attname IS NOT NULL AND s.tablename = t.relname AND s.attname = ta.attname)
                       OR (ta.attname IS NULL AND s.tablename = i.relname AND s.attname = ia.attname))
                WHERE ia.attrelid = ?::regclass AND ia.attnum > 0 AND NOT ia.attisdropped
                ORDER BY ia.attnum""")) {
            ps.setString(1, index);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int typlen = rs.getInt(2);
                    Integer avgWidth = (Integer) rs.getObject(4);
                    double nullFrac = rs.getDouble(5);
                    if (avgWidth == null && typlen <= 0) {
                        return new Estimate(index, bytes, null, CATALOG, "no planner statistics for " + rs.getString(1)
                                + " yet: ANALYZE the MV, or install pgstattuple");
                    }
                    int width = avgWidth != null ? avgWidth : typlen;
                    // A short varlena (under 127 bytes) is stored unaligned with a 1-byte header; anything else is aligned.
                    int align = typlen == -1 && width < 127 ? 1 : switch (rs.getString(3)) {
                        case "d" -> 8;
                        case "i" -> 4;
                        case "s" -> 2;
                        default -> 1;
                    };
                    data = align(data, align) + (int) Math.round(width * (1 - nullFrac));
                    nulls |= nullFrac > 0;
                }
            }
        }
        // IndexTupleData (8 bytes), with a null bitmap when any key can be null, data MAXALIGNed after it.
        int header = align(INDEX_TUPLE_HEADER + (nulls ? 4 : 0), MAXALIGN);
        int entry = align(header + data, MAXALIGN) + LINE_POINTER;
        int usable = blockSize - PAGE_HEADER - BTREE_SPECIAL;
        long perLeaf = Math.max(1, (long) Math.floor(usable * fillfactor / 100.0 / entry));
        long perInternal = Math.max(2, (long) Math.floor(usable * NONLEAF_FILL / entry));
        long level = Math.max(1, (long) Math.ceil(reltuples / perLeaf));
        long pages = 1 + level; // meta page + leaves
        while (level > 1) {
            level = (long) Math.ceil(level / (double) perInternal);
            pages += level;
        }
        return new Estimate(index, bytes, pages * blockSize, CATALOG, null);
    }

    private static int align(int n, int to) {
        return (n + to - 1) / to * to;
    }

    private static String oneLine(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
