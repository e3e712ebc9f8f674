package dev.opsmv.retention;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import dev.opsmv.db.ConnectionSpec;

/**
 * Refresh-log retention: every MV's rows older than its {@code retention_days} (ops.mv_refresh_policy; 90 for an
 * MV the policy does not list) deleted, or moved to an archive table, by release v1.7's ops.opsmv_prune_batch,
 * one batch per transaction, each under the MV's refresh lock (an MV being refreshed is left for next time).
 * Time-bounded: it stops between batches when the budget is spent and says so. After deleting many rows it
 * VACUUMs the log, so that health, /health and the endpoint's freshness lookup read no dead rows.
 */
public final class Prune {
    /** Rows deleted at once: a batch holds its locks for milliseconds, not for the whole prune. */
    public static final int BATCH = 5000;
    /** After this many rows the log is vacuumed (ANALYZE too), as autovacuum would only later. */
    static final long VACUUM_AFTER = 10_000;

    /**
     * @param dryRun    count what would go, change nothing
     * @param archiveTo a table to move the rows to (created LIKE ops.mv_refresh_log when missing); null deletes them
     * @param budget    stop between batches after this long
     */
    public record Options(boolean dryRun, String archiveTo, Duration budget) {
    }

    /** One MV: its retention, the rows that went (or would go), and why it stopped short (null: all done). */
    public record Outcome(String mv, int retentionDays, long rows, String left) {
    }

    public record Result(List<Outcome> outcomes, long rows, boolean budgetSpent, boolean vacuumed, long millis) {
        public boolean anyBusy() {
            return outcomes.stream().anyMatch(o -> o.left() != null && o.left().startsWith("busy"));
        }
    }

    /** A bad --archive-to: one line, nothing changed. */
    public static final class BadArchive extends RuntimeException {
        BadArchive(String message) {
            super(message);
        }
    }

    private Prune() {
    }

    public static Result run(ConnectionSpec db, Options options, Consumer<String> progress) throws SQLException {
        long t0 = System.nanoTime();
        long deadline = t0 + options.budget().toNanos();
        List<Outcome> outcomes = new ArrayList<>();
        long total = 0;
        boolean spent = false;
        try (Connection c = db.open("opsmv-prune")) {
            c.setAutoCommit(true);
            String archive = options.archiveTo() == null ? null : archiveTable(c, options.archiveTo(), options.dryRun());
            List<String[]> mvs = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT l.schema_name, l.mv_name, coalesce(p.retention_days, 90) FROM (SELECT DISTINCT schema_name, mv_name FROM ops.mv_refresh_log) l "
                            + "LEFT JOIN ops.mv_refresh_policy p USING (schema_name, mv_name) ORDER BY 1, 2")) {
                while (rs.next()) {
                    mvs.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT ops.opsmv_prune_batch(?, ?, ?, ?::regclass, ?)")) {
                for (String[] mv : mvs) {
                    String name = mv[0] + "." + mv[1];
                    int days = Integer.parseInt(mv[2]);
                    long rows = 0;
                    String left = null;
                    while (true) {
                        if (System.nanoTime() - deadline > 0) {
                            spent = true;
                            left = "the time budget of " + options.budget().toMillis() + " ms was spent; the rest goes next time";
                            break;
                        }
                        ps.setString(1, mv[0]);
                        ps.setString(2, mv[1]);
                        ps.setInt(3, BATCH);
                        ps.setString(4, archive);
                        ps.setBoolean(5, options.dryRun());
                        long n;
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            n = rs.getLong(1);
                        }
                        if (n < 0) {
                            left = "busy: a refresh of it holds its refresh lock; its rows go next time";
                            break;
                        }
                        rows += n;
                        if (options.dryRun() || n < BATCH) {
                            break;
                        }
                    }
                    total += rows;
                    outcomes.add(new Outcome(name, days, rows, left));
                    if (rows > 0 || left != null) {
                        progress.accept(name + ": " + rows + " row(s) older than " + days + " days " + (options.dryRun() ? "would go"
                                : archive != null ? "moved to " + archive : "deleted") + (left != null ? " (" + left + ")" : ""));
                    }
                }
            }
            boolean vacuumed = false;
            if (!options.dryRun() && archive == null && total >= VACUUM_AFTER) {
                try (Statement st = c.createStatement()) {
                    // VACUUM cannot run in a transaction: autocommit. Without it the freshness lookups step over dead rows
                    st.execute("VACUUM (ANALYZE) ops.mv_refresh_log");
                }
                vacuumed = true;
            }
            return new Result(outcomes, total, spent, vacuumed, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /** The archive table, created like the log when missing; one line when it exists with other columns. */
    private static String archiveTable(Connection c, String name, boolean dryRun) throws SQLException {
        if (!name.matches("([A-Za-z_][A-Za-z0-9_$]*\\.)?[A-Za-z_][A-Za-z0-9_$]*")) {
            throw new BadArchive("--archive-to " + name + ": give a table name, schema.table or table (letters, digits, _)");
        }
        String qualified = name.contains(".") ? name : "ops." + name;
        if ("ops.mv_refresh_log".equals(qualified)) {
            throw new BadArchive("--archive-to " + name + " is the refresh log itself; name another table");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    if (dryRun) {
                        return null;
                    }
                    try (Statement st = c.createStatement()) {
                        st.execute("CREATE TABLE " + qualified + " (LIKE ops.mv_refresh_log INCLUDING COMMENTS)");
                    }
                    return qualified;
                }
            }
        }
        String differs = "SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a "
                + "WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped";
        String mine;
        String theirs;
        try (PreparedStatement ps = c.prepareStatement(differs)) {
            ps.setString(1, "ops.mv_refresh_log");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                mine = rs.getString(1);
            }
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                theirs = rs.getString(1);
            }
        }
        if (!mine.equals(theirs)) {
            throw new BadArchive("--archive-to " + qualified + " exists with other columns than ops.mv_refresh_log (" + theirs
                    + "); name a new table (it is created LIKE the log) or one with the log's columns");
        }
        return qualified;
    }
}
