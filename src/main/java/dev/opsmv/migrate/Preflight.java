package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.Relations;

/**
 * What `update` checks before Liquibase starts: duplicate grains of the claims MV (the same check as
 * the grain changeset's precondition: ops.opsmv_claims_grain_duplicates, on exactly the rows the MV
 * will hold) and INVALID indexes the bundle owns (schema ops, and idx_* on the source tables).
 * Changes nothing: the check's functions are installed in a transaction that is rolled back.
 */
public final class Preflight {
    /** At most this many duplicate grains are listed (the runbook's Query 2 limit). */
    public static final int MAX_LISTED = 200;
    /** The MV whose grain the unique index enforces. */
    public static final String CLAIMS_MV = "ops.mv_yango_cabinet_claims_for_collection";

    public record DuplicateGrain(long driverId, int milestoneValue, long claims) {
    }

    /**
     * {@code listed} holds at most {@link #MAX_LISTED} grains the MV would hold twice; {@code total}
     * counts them all. {@code latent}: grains with more than one claim that the MV's filters leave
     * out today (a PAID claim) and that enter it when that changes (its payment is reversed).
     */
    public record Duplicates(List<DuplicateGrain> listed, long total, List<DuplicateGrain> latent, long latentTotal) {
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
    private final Migrator migrator;

    public Preflight(Connection connection, String sourceSchema, Migrator migrator) {
        this.connection = connection;
        this.sourceSchema = sourceSchema;
        this.migrator = migrator;
    }

    public Report run() throws Exception {
        return new Report(duplicateGrains(), invalidIndexes());
    }

    /** Duplicate and latent grains, computed from the source tables through the MVs' own definitions. */
    public Duplicates duplicateGrains() throws Exception {
        if (!tableExists(sourceSchema, "claims_cabinet")) {
            throw new MissingSourceTable(sourceSchema + ".claims_cabinet does not exist: this is not the ops database "
                    + "(or the source tables live in another schema: --source-schema)");
        }
        requireGrainColumns();
        List<DuplicateGrain> listed = new ArrayList<>();
        List<DuplicateGrain> latent = new ArrayList<>();
        long total = 0;
        long latentTotal = 0;
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try {
            AdoptionPlan.installMachinery(connection, migrator);
            try (Statement st = connection.createStatement();
                 ResultSet rs = st.executeQuery("SELECT driver_id, milestone_value, claims, latent, grains FROM ops.opsmv_claims_grain_duplicates()")) {
                while (rs.next()) {
                    DuplicateGrain g = new DuplicateGrain(rs.getLong(1), rs.getInt(2), rs.getLong(3));
                    if (rs.getBoolean(4)) {
                        latentTotal = rs.getLong(5);
                        if (latent.size() < MAX_LISTED) {
                            latent.add(g);
                        }
                    } else {
                        total = rs.getLong(5);
                        if (listed.size() < MAX_LISTED) {
                            listed.add(g);
                        }
                    }
                }
            }
        } finally {
            connection.rollback();
            connection.setAutoCommit(autoCommit);
        }
        return new Duplicates(List.copyOf(listed), total, List.copyOf(latent), latentTotal);
    }

    /**
     * The runbook's Query 2 as written, on the MV itself: what a CONCURRENTLY refresh failing with
     * 23505 after deployment is about.
     */
    public List<DuplicateGrain> mvDuplicates() throws SQLException {
        if (!tableExists("ops", "mv_yango_cabinet_claims_for_collection")) {
            throw new MissingSourceTable(CLAIMS_MV + " does not exist: deploy the bundle first (opsmv update)");
        }
        requireGrainColumns();
        List<DuplicateGrain> out = new ArrayList<>();
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT
                    driver_id,
                    milestone_value,
                    COUNT(*) AS count_duplicates
                FROM ops.mv_yango_cabinet_claims_for_collection
                GROUP BY driver_id, milestone_value
                HAVING COUNT(*) > 1
                ORDER BY count_duplicates DESC
                LIMIT 200""")) {
            while (rs.next()) {
                out.add(new DuplicateGrain(rs.getLong(1), rs.getInt(2), rs.getLong(3)));
            }
        }
        return out;
    }

    /** The grain is (driver_id, milestone_value): a claims MV imported without them has no grain to check. */
    private void requireGrainColumns() throws SQLException {
        List<String> missing = dev.opsmv.db.Relations.missingColumns(connection, "ops", "mv_yango_cabinet_claims_for_collection",
                List.of("driver_id", "milestone_value"));
        if (!missing.isEmpty()) {
            throw new dev.opsmv.db.NarrowerRelation(dev.opsmv.db.Relations.missingColumnsLine(CLAIMS_MV, missing,
                    "its grain (driver_id, milestone_value) cannot be checked for duplicates"));
        }
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
        return Relations.exists(connection, schema, table, "");
    }

    /** The database lacks a source table the bundle reads. */
    public static final class MissingSourceTable extends IllegalStateException {
        public MissingSourceTable(String message) {
            super(message);
        }
    }
}
