package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;


/** The size of each bundle MV, then each index's estimated bloat per MV of schema ops (a WARNING at most). */
final class SizeChecks {
    private static final Check.Section SECTION = Check.Section.SIZES;

    private SizeChecks() {
    }

    static void run(Connection c, List<String> mvs, int bloatWarnPercent, long bloatWarnMb, Checklist list) throws SQLException {
        for (String mv : mvs) {
            size(c, mv, list);
        }
        indexBloat(c, bloatWarnPercent, bloatWarnMb, list);
    }

    private static void size(Connection c, String mv, Checklist list) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT pg_size_pretty(pg_total_relation_size(c.oid)), pg_size_pretty(pg_relation_size(c.oid)),
                       pg_size_pretty(pg_indexes_size(c.oid))
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'ops' AND c.relname = ? AND c.relkind = 'm'""")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    list.add(SECTION, true, "size ops." + mv, "total " + rs.getString(1) + ", table " + rs.getString(2) + ", indexes " + rs.getString(3));
                } else {
                    list.add(SECTION, false, "size ops." + mv, "MV missing");
                }
            }
        }
    }

    /**
     * Per MV of schema ops (the bundle's and any other: `reindex --all` rebuilds them all), each index's
     * estimated bloat ({@link IndexBloat}: pgstatindex when pgstattuple is installed, else the catalog). Never
     * a ✗: an index over both thresholds makes the MV's line a WARNING naming the command that fixes it.
     */
    private static void indexBloat(Connection c, int warnPercent, long warnMb, Checklist list) {
        List<String[]> mvs = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'm' AND n.nspname = 'ops' ORDER BY c.relname""")) {
            while (rs.next()) {
                mvs.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        } catch (SQLException e) {
            list.add(SECTION, true, "index bloat", "cannot list the MVs of schema ops: " + e.getMessage());
            return;
        }
        for (String[] mv : mvs) {
            String label = "index bloat " + mv[1];
            List<IndexBloat.Estimate> estimates;
            try {
                estimates = IndexBloat.estimate(c, mv[1]);
            } catch (SQLException e) {
                list.add(SECTION, true, label, "no estimate: " + e.getMessage());
                continue;
            }
            if (estimates.isEmpty()) {
                list.add(SECTION, true, label, "no index");
                continue;
            }
            List<String> parts = new ArrayList<>();
            List<String> worth = new ArrayList<>();
            for (IndexBloat.Estimate e : estimates) {
                String name = e.index().substring(e.index().indexOf('.') + 1);
                if (e.freshBytes() == null) {
                    parts.add(name + " " + pretty(e.bytes()) + ", bloat unknown (" + e.note() + ")");
                    continue;
                }
                long pct = Math.round(e.bloat() * 100);
                parts.add(name + " " + pretty(e.bytes()) + ", ~" + pct + "% bloat (a rebuild needs ~" + pretty(e.freshBytes()) + ")"
                        + (e.note() == null ? "" : " (" + e.note() + ")"));
                if (e.bloat() * 100 > warnPercent && e.bloatBytes() > warnMb * 1024 * 1024) {
                    worth.add(name + " ~" + pct + "%, " + pretty(e.bloatBytes()));
                }
            }
            String methods = String.join("/", estimates.stream().map(IndexBloat.Estimate::method)
                    .filter(Objects::nonNull).distinct().toList());
            String detail = String.join("; ", parts) + (methods.isEmpty() ? "" : " [" + methods + "]");
            if (worth.isEmpty()) {
                list.add(SECTION, true, label, detail);
            } else {
                list.warn(SECTION, label, "a reindex is worth it: " + String.join(", ", worth) + " to win (over "
                        + warnPercent + "% and " + warnMb + " MB): run `opsmv reindex " + mv[0]
                        + "` (REINDEX TABLE CONCURRENTLY: readers are not blocked) — " + detail);
            }
        }
    }

    private static String pretty(long bytes) {
        if (bytes < 10 * 1024) {
            return bytes + " bytes";
        }
        if (bytes < 10L * 1024 * 1024) {
            return bytes / 1024 + " kB";
        }
        if (bytes < 10L * 1024 * 1024 * 1024) {
            return bytes / (1024 * 1024) + " MB";
        }
        return bytes / (1024L * 1024 * 1024) + " GB";
    }
}
