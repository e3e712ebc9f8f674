package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;

/**
 * What the next update would do with each object the bundle owns, on a database that may already
 * hold them (built by the runbooks' psql scripts): create, adopt (identical), alter (a refresh table
 * conformed in place), replace (a derived health view set aside), rebuild (an INVALID leftover),
 * differs or conflict. The decision itself lives in the changelog (ops.opsmv_adoption_plan, used by
 * the adoption gate under every Liquibase client); here it is read without changing anything: the
 * adoption changeset runs inside a transaction that is rolled back.
 */
public final class AdoptionPlan {
    /** The changeset that installs the catalogue and the comparison functions. */
    public static final String ADOPTION_CHANGESET = "v1.0-ops-adoption";
    /** The changeset that installs the duplicate-grain check on the rows the claims MV will hold. */
    public static final String GRAIN_CHECK_CHANGESET = "v1.0-ops-grain-check";

    public record Item(long seq, String changesetId, String object, String kind, String action, String detail,
                       String liveDefinition, String bundleDefinition) {
        /** Stops the update: the bundle will not guess. */
        public boolean blocking() {
            return "differs".equals(action) || "conflict".equals(action);
        }

        /** A differing MV that `update --replace-differing` can rebuild with the bundle's definition. */
        public boolean replaceable() {
            return "differs".equals(action) && "materialized view".equals(kind);
        }

        /** A unified diff, live definition first; empty when there is nothing to compare. */
        public List<String> diff() {
            if (liveDefinition == null || bundleDefinition == null) {
                return List.of();
            }
            List<String> live = Arrays.asList(liveDefinition.split("\n"));
            List<String> bundle = Arrays.asList(bundleDefinition.split("\n"));
            return UnifiedDiffUtils.generateUnifiedDiff(object + " (this database)", object + " (bundle, changeset " + changesetId + ")",
                    live, DiffUtils.diff(live, bundle), 2);
        }
    }

    private final List<Item> items;

    private AdoptionPlan(List<Item> items) {
        this.items = List.copyOf(items);
    }

    public List<Item> items() {
        return items;
    }

    /** Something is already there: the plan is worth showing object by object. */
    public boolean meetsExistingObjects() {
        return items.stream().anyMatch(i -> !"create".equals(i.action()));
    }

    public List<Item> blocking() {
        return items.stream().filter(Item::blocking).toList();
    }

    public long count(String action) {
        return items.stream().filter(i -> action.equals(i.action())).count();
    }

    /**
     * Installs the adoption machinery and the catalogue of every version on {@code c}, inside the
     * caller's transaction: the adoption and grain-check changesets, the catalogue changesets (ids ending in
     * "-catalogue") and the adoption functions' later versions (ids ending in "-adoption-machinery"), in changelog
     * order, all idempotent.
     */
    static void installMachinery(Connection c, Migrator migrator) throws Exception {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS ops");
            for (String sql : migrator.changeSetSql(cs -> cs.getId().equals(ADOPTION_CHANGESET) || cs.getId().equals(GRAIN_CHECK_CHANGESET)
                    || cs.getId().endsWith("-catalogue") || cs.getId().endsWith("-adoption-machinery"))) {
                st.execute(sql);
            }
        }
    }

    /** Reads the plan; the database is left exactly as it was (everything runs in a rolled-back transaction). */
    public static AdoptionPlan read(Connection c, Migrator migrator) throws Exception {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            installMachinery(c, migrator);
            List<Item> items = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM ops.opsmv_adoption_plan(?)")) {
                ps.setString(1, historyTable(c));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        items.add(new Item(rs.getLong("seq"), rs.getString("changeset_id"), rs.getString("object"),
                                rs.getString("object_kind"), rs.getString("action"), rs.getString("detail"),
                                rs.getString("live_definition"), rs.getString("bundle_definition")));
                    }
                }
            }
            return new AdoptionPlan(items);
        } finally {
            c.rollback();
            c.setAutoCommit(autoCommit);
        }
    }

    /** What adoption did, as the gate and the changesets recorded it (empty where nothing was adopted). */
    public static List<String> adopted(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('ops.opsmv_adoption') IS NOT NULL")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return out;
            }
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT action, object, detail FROM ops.opsmv_adoption "
                     + "WHERE action <> 'replace' OR undo_sql IS NOT NULL ORDER BY adoption_id")) {
            while (rs.next()) {
                String verb = switch (rs.getString(1)) {
                    case "adopt" -> "adopted";
                    case "index" -> "built";
                    case "alter" -> "altered";
                    case "replace" -> "replaced";
                    case "set-aside" -> "set aside";
                    default -> rs.getString(1);
                };
                out.add(verb + ": " + rs.getString(2) + (rs.getString(3) == null ? "" : " (" + rs.getString(3) + ")"));
            }
        }
        return out;
    }

    private static String historyTable(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_schema()")) {
            rs.next();
            return (rs.getString(1) == null ? "public" : rs.getString(1)) + ".databasechangelog";
        }
    }
}
