package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What `update` checks before Liquibase starts: duplicate grains in claims_cabinet (the runbook's
 * Query 2, the same test as the grain changeset's precondition) and INVALID indexes the bundle
 * owns (schema ops, and idx_* on the source tables). Read-only, autocommit.
 */
public final class Preflight {
    /** At most this many duplicate grains are listed (the runbook's Query 2 limit). */
    public static final int MAX_LISTED = 200;

    public record DuplicateGrain(long driverId, int milestoneValue, long claims) {
    }

    /** {@code listed} holds at most {@link #MAX_LISTED} grains; {@code total} counts them all. */
    public record Duplicates(List<DuplicateGrain> listed, long total) {
        public boolean any() {
            return total > 0;
        }
    }

    public record InvalidIndex(String schema, String name, String table) {
        public String qualifiedName() {
            return schema + "." + name;
        }
    }

    public record Report(Duplicates duplicates, List<InvalidIndex> invalidIndexes) {
        public boolean clean() {
            return !duplicates.any() && invalidIndexes.isEmpty();
        }
    }

    private final Connection connection;
    private final String sourceSchema;

    public Preflight(Connection connection, String sourceSchema) {
        this.connection = connection;
        this.sourceSchema = sourceSchema;
    }

    public Report run() throws SQLException {
        return new Report(duplicateGrains(), invalidIndexes());
    }

    /** Query 2: driver_id, milestone_value, count for every grain with more than one claim. */
    public Duplicates duplicateGrains() throws SQLException {
        if (!tableExists(sourceSchema, "claims_cabinet")) {
            throw new MissingSourceTable(sourceSchema + ".claims_cabinet does not exist: this is not the ops database "
                    + "(or the source tables live in another schema)");
        }
        List<DuplicateGrain> listed = new ArrayList<>();
        long total = 0;
        String sql = "SELECT driver_id, milestone_value, count(*) AS claims, count(*) OVER () AS grains "
                + "FROM " + quoteIdent(sourceSchema) + ".claims_cabinet "
                + "GROUP BY driver_id, milestone_value HAVING count(*) > 1 "
                + "ORDER BY driver_id, milestone_value LIMIT " + MAX_LISTED;
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                listed.add(new DuplicateGrain(rs.getLong(1), rs.getInt(2), rs.getLong(3)));
                total = rs.getLong(4);
            }
        }
        return new Duplicates(List.copyOf(listed), total);
    }

    /** INVALID indexes in schema ops, and idx_* ones in the source schema (the bundle's names). */
    public List<InvalidIndex> invalidIndexes() throws SQLException {
        List<InvalidIndex> out = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT n.nspname, ic.relname, t.relname
                FROM pg_index i
                JOIN pg_class ic ON ic.oid = i.indexrelid
                JOIN pg_namespace n ON n.oid = ic.relnamespace
                JOIN pg_class t ON t.oid = i.indrelid
                WHERE NOT i.indisvalid
                  AND (n.nspname = 'ops' OR (n.nspname = ? AND ic.relname LIKE 'idx\\_%'))
                ORDER BY 1, 2
                """)) {
            ps.setString(1, sourceSchema);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new InvalidIndex(rs.getString(1), rs.getString(2), rs.getString(3)));
                }
            }
        }
        return out;
    }

    private boolean tableExists(String schema, String table) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    static String quoteIdent(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** The database lacks a source table the bundle reads. */
    public static final class MissingSourceTable extends IllegalStateException {
        public MissingSourceTable(String message) {
            super(message);
        }
    }
}
