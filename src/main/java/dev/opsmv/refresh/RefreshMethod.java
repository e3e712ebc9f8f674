package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

import dev.opsmv.swap.SideBySideSwap;

/**
 * How one MV will be refreshed and why, decided from the catalog before the refresh — never by
 * trying one method and retrying another on error. Whether PostgreSQL can refresh it concurrently
 * is ops.opsmv_concurrently's answer (the one definition, shared with the pg_cron procedure). A swap ({@link SideBySideSwap}) needs an MV that nothing
 * else reads and that the runner owns.
 *
 * <p>{@code auto}'s rule (figures: docs/BENCHMARKS.md, sections 2 and 6):
 * <ol>
 *   <li>not populated: PLAIN (no reader can read it; the cheapest);</li>
 *   <li>the swap is possible (nothing else reads the MV, the runner owns it, no extended statistics) and
 *       either the MV is at least {@link #SWAP_MIN_BYTES} (4 MB) on disk (pg_class.relpages: no lock taken) or
 *       it has no usable unique index: SWAP. A swap costs the MV's bare CREATE TABLE AS plus its indexes plus
 *       ANALYZE; CONCURRENTLY builds the new contents too and then diffs them against the old. Measured at
 *       200,000 drivers, after a 1% change, the swap takes half to three quarters of CONCURRENTLY's time for
 *       two of the bundle's three leaf MVs and about the same for the driver matrix. By size, on MVs of
 *       driver-matrix rows (the shape least favourable to a swap: wide, three indexes), the swap's fixed cost
 *       (a dozen catalog statements, ANALYZE) makes it up to 3x dearer below about 1 MB, and from about 5 MB
 *       it is no dearer than CONCURRENTLY (within 5%): the rule swaps from 4 MB. Without a usable unique
 *       index the alternative is a PLAIN refresh that blocks readers, so the swap wins at any size;</li>
 *   <li>a usable unique index: CONCURRENTLY (an MV that others read stays CONCURRENTLY: the swap would
 *       have to drop them);</li>
 *   <li>otherwise PLAIN, with the reason logged.</li>
 * </ol>
 *
 * @param method  "CONCURRENTLY", "PLAIN" or "SWAP", or null when the MV is refused
 * @param fallbackReason why PLAIN although CONCURRENTLY was wanted (logged), or null
 * @param refusal why the MV cannot be refreshed as asked, or null
 * @param why     one line for --dry-run
 */
public record RefreshMethod(String method, String fallbackReason, String refusal, String why) {
    public static final String CONCURRENTLY = "CONCURRENTLY";
    public static final String PLAIN = "PLAIN";
    public static final String SWAP = "SWAP";
    public static final String NO_UNIQUE_INDEX = "no usable unique index";
    public static final String NOT_POPULATED = "not populated";
    /** The size from which a swap is cheaper than CONCURRENTLY (`bench` measures it: docs/BENCHMARKS.md, section 6). */
    public static final long SWAP_MIN_BYTES = 4L << 20;

    public static RefreshMethod decide(Connection c, String mv, RefreshMode mode) throws SQLException {
        boolean populated;
        String index;
        String cannot; // the CONCURRENTLY rule, written once in SQL (ops.opsmv_concurrently)
        String schema;
        String name;
        long bytes;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relispopulated, k.usable_index, k.refusal,
                       n.nspname, c.relname, c.relpages::bigint * current_setting('block_size')::bigint
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN LATERAL ops.opsmv_concurrently(c.oid) k
                WHERE c.oid = ?::regclass AND c.relkind = 'm'
                """)) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalArgumentException(mv + " is not a materialized view");
                }
                populated = rs.getBoolean(1);
                index = rs.getString(2);
                cannot = rs.getString(3);
                schema = rs.getString(4);
                name = rs.getString(5);
                bytes = rs.getLong(6);
            }
        }
        return switch (mode) {
            case PLAIN -> new RefreshMethod(PLAIN, null, null, "--method plain");
            case CONCURRENTLY -> cannot == null
                    ? new RefreshMethod(CONCURRENTLY, null, null, "unique index " + index + ", populated")
                    : new RefreshMethod(null, null, "cannot refresh concurrently as asked (--method concurrently): " + cannot,
                            "refused: " + cannot);
            case SWAP -> {
                List<String> obstacles = SideBySideSwap.obstacles(c, schema, name);
                yield obstacles.isEmpty()
                        ? new RefreshMethod(SWAP, null, null, "rebuilt beside the serving one and swapped in")
                        : new RefreshMethod(null, null, "cannot swap as asked (--method swap): " + String.join("; ", obstacles),
                                "refused: " + String.join("; ", obstacles));
            }
            case AUTO -> {
                if (!populated) {
                    yield new RefreshMethod(PLAIN, cannot, null, "fallback: " + cannot);
                }
                List<String> obstacles = SideBySideSwap.obstacles(c, schema, name);
                if (obstacles.isEmpty() && (index == null || bytes >= SWAP_MIN_BYTES)) {
                    yield new RefreshMethod(SWAP, null, null, "nothing reads it, "
                            + (index == null ? "no usable unique index (a plain refresh would block readers)" : mb(bytes) + " (≥ " + mb(SWAP_MIN_BYTES) + ")")
                            + ": rebuilt beside the serving one and swapped in");
                }
                String noSwap = obstacles.isEmpty()
                        ? "; no swap: " + mb(bytes) + ", below " + mb(SWAP_MIN_BYTES) + " CONCURRENTLY is cheaper"
                        : "; no swap: " + String.join("; ", obstacles);
                yield cannot == null
                        ? new RefreshMethod(CONCURRENTLY, null, null, "unique index " + index + ", populated" + noSwap)
                        : new RefreshMethod(PLAIN, cannot, null, "fallback: " + cannot + noSwap);
            }
        };
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
}
