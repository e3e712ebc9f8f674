package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * How one MV will be refreshed and why, decided from the catalog before the refresh — never by
 * trying CONCURRENTLY and retrying PLAIN on error. PostgreSQL refreshes concurrently only a
 * populated MV with a unique, valid, immediate btree index on plain columns without WHERE
 * (matview.c, is_usable_unique_index).
 *
 * @param method  "CONCURRENTLY" or "PLAIN", or null when the MV is refused (--concurrently always)
 * @param fallbackReason why PLAIN although CONCURRENTLY was wanted (logged), or null
 * @param refusal why the MV cannot be refreshed as asked, or null
 * @param why     one line for --dry-run
 */
public record RefreshMethod(String method, String fallbackReason, String refusal, String why) {
    public static final String CONCURRENTLY = "CONCURRENTLY";
    public static final String PLAIN = "PLAIN";
    public static final String NO_UNIQUE_INDEX = "no usable unique index";
    public static final String NOT_POPULATED = "not populated";

    public static RefreshMethod decide(Connection c, String mv, Concurrency mode) throws SQLException {
        boolean populated;
        String index;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relispopulated,
                       (SELECT min(ic.relname)
                        FROM pg_index i
                        JOIN pg_class ic ON ic.oid = i.indexrelid
                        JOIN pg_am am ON am.oid = ic.relam
                        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
                          AND i.indpred IS NULL AND i.indexprs IS NULL AND am.amname = 'btree') AS usable_index
                FROM pg_class c WHERE c.oid = ?::regclass AND c.relkind = 'm'
                """)) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalArgumentException(mv + " is not a materialized view");
                }
                populated = rs.getBoolean(1);
                index = rs.getString(2);
            }
        }
        String cannot = !populated ? NOT_POPULATED : index == null ? NO_UNIQUE_INDEX : null;
        return switch (mode) {
            case NEVER -> new RefreshMethod(PLAIN, null, null, "--concurrently never");
            case ALWAYS -> cannot == null
                    ? new RefreshMethod(CONCURRENTLY, null, null, "unique index " + index + ", populated")
                    : new RefreshMethod(null, null, "cannot refresh concurrently (--concurrently always): " + cannot,
                            "refused: " + cannot);
            case AUTO -> cannot == null
                    ? new RefreshMethod(CONCURRENTLY, null, null, "unique index " + index + ", populated")
                    : new RefreshMethod(PLAIN, cannot, null, "fallback: " + cannot);
        };
    }
}
