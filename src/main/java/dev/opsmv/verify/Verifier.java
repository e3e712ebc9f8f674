package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.api.DriverMatrixQuery;
import dev.opsmv.db.DriverMatrixRelation;
import dev.opsmv.db.Relations;
import dev.opsmv.migrate.BundleObjects;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.db.Timing;
import dev.opsmv.refresh.IndexBloat;

/**
 * The post-deployment checklist of both runbooks, each item a ✓ or ✗ line, or a WARNING line for what is
 * worth doing but fails nothing (index bloat). Read-only: it creates, analyzes and refreshes nothing (so it
 * is safe on production right after a deploy).
 */
public final class Verifier {
    /** The claims health view's columns, in order: scripts read it by position. */
    static final List<String> CLAIMS_HEALTH_COLUMNS = List.of("last_ok_refresh_finished_at", "hours_since_ok_refresh",
            "status_bucket", "last_status", "last_error", "rows_after_refresh");
    private static final List<String> ENDPOINT_INDEXES = List.of(
            "idx_mv_payments_driver_matrix_cabinet_origin_week", "ux_mv_payments_driver_matrix_cabinet_grain");
    private static final int TIMING_RUNS = 3;

    private final Connection c;
    private final String sourceSchema;
    private final Options options;
    private final Consumer<Item> sink;
    private final List<Item> items = new ArrayList<>();

    /**
     * The thresholds of the checklist. {@code maxQueryMs}: the endpoint's typical query must be faster (the
     * runbook: "queries &lt; 2s"); {@code bloatWarnPercent} and {@code bloatWarnMb}: an index whose estimated
     * bloat is over both gets a WARNING that names {@code opsmv reindex} (never a ✗).
     */
    public record Options(String sourceSchema, double maxQueryMs, int bloatWarnPercent, long bloatWarnMb) {
        public static final double DEFAULT_MAX_QUERY_MS = 2000;
        public static final int DEFAULT_BLOAT_WARN_PERCENT = 30;
        public static final long DEFAULT_BLOAT_WARN_MB = 10;

        public static Options defaults(String sourceSchema) {
            return new Options(sourceSchema, DEFAULT_MAX_QUERY_MS, DEFAULT_BLOAT_WARN_PERCENT, DEFAULT_BLOAT_WARN_MB);
        }
    }

    /** One checklist line: ✓, ✗, or a WARNING (something worth doing that does not fail the checklist). */
    public record Item(boolean ok, String name, String detail, boolean warning) {
        public Item(boolean ok, String name, String detail) {
            this(ok, name, detail, false);
        }

        public String line() {
            return (warning ? "WARNING " : ok ? "✓ " : "✗ ") + name + (detail == null || detail.isEmpty() ? "" : ": " + detail);
        }
    }

    public Verifier(Connection c, String sourceSchema, Consumer<Item> sink) {
        this(c, Options.defaults(sourceSchema), sink);
    }

    public Verifier(Connection c, Options options, Consumer<Item> sink) {
        this.c = c;
        this.sourceSchema = options.sourceSchema();
        this.options = options;
        this.sink = sink;
    }

    /** Runs every item (each reported to the sink as it finishes) and returns them all. */
    public List<Item> run() throws SQLException {
        c.setAutoCommit(true);
        // what the applied changesets built, replayed from the changelog: nothing to keep in step by hand
        BundleObjects.Owned owned;
        try {
            // the changesets' DDL with the source_schema this database was deployed with: the base indexes live there
            owned = BundleObjects.applied(c, Migrator.bundle(c, null,
                    Changelog.DEFAULT_SOURCE_SCHEMA.equals(sourceSchema) ? null : sourceSchema));
        } catch (SQLException e) {
            throw e;
        } catch (Exception e) {
            throw new SQLException("cannot read the changelog the bundle applied: " + e.getMessage(), e);
        }
        add(owned.appliedChangesets() > 0, "bundle deployed", owned.appliedChangesets() == 0
                ? "no changeset of the bundle is applied here: run `opsmv update` first"
                : owned.appliedChangesets() + " changeset(s) applied, " + owned.mvs().size() + " MVs and " + owned.indexes().size() + " indexes owned");
        List<String> mvs = owned.mvs().stream().filter(q -> q.startsWith("ops.")).map(q -> q.substring(4)).toList();
        for (BundleObjects.Index ix : owned.indexes()) {
            if (!"ops".equals(ix.schema())) {
                index(ix.schema(), ix.table(), ix.name(), ix.unique(), "base index", ix.file());
            }
        }
        for (String mv : mvs) {
            mv(mv);
        }
        for (BundleObjects.Index ix : owned.indexes()) {
            if ("ops".equals(ix.schema())) {
                index(ix.schema(), ix.table(), ix.name(), ix.unique(), "MV index", ix.file());
            }
        }
        healthViews();
        refreshTracking();
        duplicateGrains();
        for (String mv : mvs) {
            size(mv);
        }
        indexBloat();
        lastRefresh();
        DriverMatrixQuery typical = DriverMatrixQuery.parse(Map.of("origin_tag", List.of("cabinet")), LocalDate.now(ZoneOffset.UTC));
        List<String> missing = Relations.missingColumns(c, "ops", "mv_payments_driver_matrix_cabinet", List.of("week_start", "driver_id", "origin_tag"));
        if (!missing.isEmpty()) {
            boolean filterOnly = missing.equals(List.of("origin_tag"));
            add(false, "endpoint columns on the MV", Relations.missingColumnsLine(DriverMatrixQuery.MV, missing, filterOnly
                    ? "the endpoint answers 400 to origin_tag; the endpoint checks below use a request without it"
                    : "the endpoint cannot serve the driver matrix from it"));
            if (!filterOnly) {
                return items;
            }
            typical = DriverMatrixQuery.parse(Map.of(), LocalDate.now(ZoneOffset.UTC));
        }
        explain(typical);
        timing(typical);
        queryUnderThreshold(typical);
        return items;
    }

    public static boolean allOk(List<Item> items) {
        return items.stream().allMatch(Item::ok);
    }

    private void add(boolean ok, String name, String detail) {
        add(new Item(ok, name, detail));
    }

    private void add(Item item) {
        items.add(item);
        sink.accept(item);
    }

    /** The name an adopted database keeps for a bundle index it already had under another name (ops.opsmv_adoption). */
    private String adoptedUnderAnotherName(String bundleIndex) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT substring(a.detail FROM 'the same index exists as ([^: ]+)')
                FROM ops.opsmv_adoption a
                WHERE to_regclass('ops.opsmv_adoption') IS NOT NULL AND a.object = ? AND a.action = 'adopt'""")) {
            ps.setString(1, bundleIndex);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                return null; // a bundle from before adoption existed: no record
            }
            throw e;
        }
    }

    private boolean validIndex(String qualifiedName) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT x.indisvalid AND x.indisready FROM pg_index x WHERE x.indexrelid = to_regclass(?)")) {
            ps.setString(1, qualifiedName);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private void index(String schema, String table, String name, boolean unique, String what, String file) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT t.relname, x.indisvalid, x.indisready, x.indisunique
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace n ON n.oid = i.relnamespace
                WHERE n.nspname = ? AND i.relname = ?""")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                String label = what + " " + schema + "." + name;
                if (!rs.next()) {
                    String alias = adoptedUnderAnotherName(schema + "." + name);
                    if (alias != null && validIndex(alias)) {
                        add(true, label, "adopted under its existing name " + alias + " (the same index: not built twice)");
                        return;
                    }
                    add(false, label, "missing: recreate it with the statement of the changeset that built it (" + file + ")");
                } else if (!rs.getString(1).equals(table)) {
                    add(false, label, "is on " + rs.getString(1) + ", expected on " + table);
                } else if (!rs.getBoolean(2) || !rs.getBoolean(3)) {
                    add(false, label, "INVALID (left by a failed CREATE INDEX CONCURRENTLY): reads ignore it; `opsmv update` "
                            + "drops and rebuilds it when its changeset did not complete, else DROP INDEX CONCURRENTLY and recreate it");
                } else if (unique && !rs.getBoolean(4)) {
                    add(false, label, "present but not UNIQUE");
                } else {
                    add(true, label, "present and valid on " + schema + "." + table + (unique ? " (unique)" : ""));
                }
            }
        }
    }

    private void mv(String mv) throws SQLException {
        String label = "MV ops." + mv;
        Boolean populated = null;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT c.relispopulated FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE n.nspname = 'ops' AND c.relname = ? AND c.relkind = 'm'")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    populated = rs.getBoolean(1);
                }
            }
        }
        if (populated == null) {
            add(false, label, "missing");
            return;
        }
        if (!populated) {
            add(false, label, "present but NOT populated (run `opsmv refresh` or REFRESH MATERIALIZED VIEW ops." + mv + ")");
            return;
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM ops." + mv + ")")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                add(false, label, "present and populated but EMPTY (no rows: are the source tables loaded?)");
            } else {
                add(true, label, "present, populated, not empty");
            }
        }
    }

    /** Refreshes made with psql, cron or the old scripts are logged by the event trigger, where it could be installed. */
    private void refreshTracking() throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'opsmv_track_refresh'")) {
            if (rs.next() && !"D".equals(rs.getString(1))) {
                add(true, "refresh tracking", "every REFRESH of a bundle MV is logged, whoever runs it (event trigger opsmv_track_refresh)");
            } else {
                // not a ✗: a role without superuser cannot create event triggers, and health stays true for opsmv's own refreshes
                add(new Item(true, "refresh tracking", "refreshes outside opsmv are not tracked (psql, cron and old scripts leave no log row, "
                        + "so health may call a fresh MV stale); a superuser's `opsmv update` installs the event trigger", true));
            }
        }
    }

    /** Duplicates on the rows the claims MV will hold fail; latent ones (filtered out today) are a warning with the count. */
    private void duplicateGrains() throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet fn = st.executeQuery("SELECT to_regprocedure('ops.opsmv_claims_grain_duplicates()') IS NOT NULL")) {
            fn.next();
            if (!fn.getBoolean(1)) {
                return;
            }
        }
        List<String> grain = Relations.missingColumns(c, "ops", "mv_yango_cabinet_claims_for_collection", List.of("driver_id", "milestone_value"));
        if (!grain.isEmpty()) {
            add(false, "duplicate grains of ops.mv_yango_cabinet_claims_for_collection",
                    Relations.missingColumnsLine("ops.mv_yango_cabinet_claims_for_collection", grain, "its grain cannot be checked"));
            return;
        }
        long current = 0;
        long latent = 0;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FILTER (WHERE NOT latent), count(*) FILTER (WHERE latent) FROM ops.opsmv_claims_grain_duplicates()")) {
            rs.next();
            current = rs.getLong(1);
            latent = rs.getLong(2);
        }
        add(current == 0, "duplicate grains of ops.mv_yango_cabinet_claims_for_collection",
                current == 0 ? "none" : current + " grain(s) the MV would hold twice: every CONCURRENTLY refresh fails; list them with `opsmv check-duplicates`");
        if (latent > 0) {
            add(new Item(true, "latent duplicate grains of ops.mv_yango_cabinet_claims_for_collection", latent
                    + " latent grain(s) filtered out today (e.g. PAID claims) would enter it if a payment is reversed and break every "
                    + "CONCURRENTLY refresh: `opsmv check-duplicates` lists them", true));
        }
    }

    private void healthViews() throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(*) FILTER (WHERE status_bucket IS NOT NULL) FROM ops.v_mv_health")) {
            rs.next();
            add(rs.getLong(1) > 0, "health view ops.v_mv_health", rs.getLong(1) + " rows");
        } catch (SQLException e) {
            add(false, "health view ops.v_mv_health", "does not answer: " + e.getMessage());
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM ops.v_yango_cabinet_claims_mv_health")) {
            ResultSetMetaData md = rs.getMetaData();
            List<String> cols = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                cols.add(md.getColumnLabel(i));
            }
            int n = 0;
            while (rs.next()) {
                n++;
            }
            if (!cols.equals(CLAIMS_HEALTH_COLUMNS)) {
                add(false, "health view ops.v_yango_cabinet_claims_mv_health", "columns " + cols + ", expected " + CLAIMS_HEALTH_COLUMNS);
            } else {
                add(n == 1, "health view ops.v_yango_cabinet_claims_mv_health", n + " row(s), columns in the runbook's order");
            }
        } catch (SQLException e) {
            add(false, "health view ops.v_yango_cabinet_claims_mv_health", "does not answer: " + e.getMessage());
        }
    }

    private void size(String mv) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT pg_size_pretty(pg_total_relation_size(c.oid)), pg_size_pretty(pg_relation_size(c.oid)),
                       pg_size_pretty(pg_indexes_size(c.oid))
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'ops' AND c.relname = ? AND c.relkind = 'm'""")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    add(true, "size ops." + mv, "total " + rs.getString(1) + ", table " + rs.getString(2) + ", indexes " + rs.getString(3));
                } else {
                    add(false, "size ops." + mv, "MV missing");
                }
            }
        }
    }

    /**
     * Per MV of schema ops (the bundle's and any other: `reindex --all` rebuilds them all), each index's
     * estimated bloat ({@link IndexBloat}: pgstatindex when pgstattuple is installed, else the catalog). Never
     * a ✗: an index over both thresholds makes the MV's line a WARNING naming the command that fixes it.
     */
    private void indexBloat() {
        List<String[]> mvs = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'm' AND n.nspname = 'ops' ORDER BY c.relname""")) {
            while (rs.next()) {
                mvs.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        } catch (SQLException e) {
            add(true, "index bloat", "cannot list the MVs of schema ops: " + e.getMessage());
            return;
        }
        for (String[] mv : mvs) {
            String label = "index bloat " + mv[1];
            List<IndexBloat.Estimate> estimates;
            try {
                estimates = IndexBloat.estimate(c, mv[1]);
            } catch (SQLException e) {
                add(true, label, "no estimate: " + e.getMessage());
                continue;
            }
            if (estimates.isEmpty()) {
                add(true, label, "no index");
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
                if (e.bloat() * 100 > options.bloatWarnPercent() && e.bloatBytes() > options.bloatWarnMb() * 1024 * 1024) {
                    worth.add(name + " ~" + pct + "%, " + pretty(e.bloatBytes()));
                }
            }
            String methods = String.join("/", estimates.stream().map(IndexBloat.Estimate::method)
                    .filter(java.util.Objects::nonNull).distinct().toList());
            String detail = String.join("; ", parts) + (methods.isEmpty() ? "" : " [" + methods + "]");
            if (worth.isEmpty()) {
                add(true, label, detail);
            } else {
                add(new Item(true, label, "a reindex is worth it: " + String.join(", ", worth) + " to win (over "
                        + options.bloatWarnPercent() + "% and " + options.bloatWarnMb() + " MB): run `opsmv reindex " + mv[0]
                        + "` (REINDEX TABLE CONCURRENTLY: readers are not blocked) — " + detail, true));
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

    /** Informational: a fresh deployment has no OK refresh logged yet (the MVs were filled by CREATE ... WITH DATA). */
    private void lastRefresh() {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT mv_name, last_ok_refresh_finished_at, hours_since_ok_refresh, status_bucket, last_status
                FROM ops.v_mv_health ORDER BY mv_name""")) {
            while (rs.next()) {
                String when = rs.getString(2) == null ? "no OK refresh logged yet"
                        : "last OK refresh " + rs.getString(2) + " (" + rs.getString(3) + " h ago, " + rs.getString(4) + ")";
                add(true, "last refresh ops." + rs.getString(1), when + (rs.getString(5) == null ? "" : ", latest run " + rs.getString(5)));
            }
        } catch (SQLException e) {
            add(false, "last refresh per MV", "cannot read ops.v_mv_health: " + e.getMessage());
        }
    }

    /**
     * The endpoint's typical query must be able to use an MV index. On small tables the planner rightly
     * prefers a sequential scan, so the EXPLAIN runs with enable_seqscan = off (SET LOCAL, rolled back):
     * the question is whether an index CAN serve the query, not which plan wins on today's row count.
     */
    private void explain(DriverMatrixQuery q) throws SQLException {
        String label = "endpoint query planned on an MV index";
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL enable_seqscan = off");
            String json;
            try (ResultSet rs = st.executeQuery("EXPLAIN (FORMAT JSON) " + q.literalSql(DriverMatrixQuery.MV))) {
                rs.next();
                json = rs.getString(1);
            }
            JsonNode plan = new ObjectMapper().readTree(json).get(0).get("Plan");
            List<String> indexes = new ArrayList<>();
            List<String> seqScans = new ArrayList<>();
            walk(plan, indexes, seqScans);
            boolean ok = indexes.stream().anyMatch(ENDPOINT_INDEXES::contains) && seqScans.isEmpty();
            add(ok, label, (ok ? "" : "NOT on the index: ") + summary(plan) + " — " + q.literalSql(DriverMatrixQuery.MV)
                    + " [EXPLAIN with enable_seqscan = off]");
        } catch (SQLException e) {
            add(false, label, "EXPLAIN failed: " + e.getMessage());
        } catch (Exception e) {
            add(false, label, "cannot read the plan: " + e.getMessage());
        } finally {
            c.rollback();
            c.setAutoCommit(true);
        }
    }

    private static void walk(JsonNode node, List<String> indexes, List<String> seqScans) {
        if (node.has("Index Name")) {
            indexes.add(node.get("Index Name").asText());
        }
        if ("Seq Scan".equals(node.path("Node Type").asText())) {
            seqScans.add(node.path("Relation Name").asText());
        }
        for (JsonNode child : node.path("Plans")) {
            walk(child, indexes, seqScans);
        }
    }

    private static String summary(JsonNode node) {
        StringBuilder sb = new StringBuilder(node.path("Node Type").asText());
        if (node.has("Scan Direction") && !"Forward".equals(node.get("Scan Direction").asText())) {
            sb.append(" ").append(node.get("Scan Direction").asText());
        }
        if (node.has("Index Name")) {
            sb.append(" using ").append(node.get("Index Name").asText());
        }
        if (node.has("Relation Name")) {
            sb.append(" on ").append(node.get("Relation Name").asText());
        }
        List<String> kids = new ArrayList<>();
        for (JsonNode child : node.path("Plans")) {
            kids.add(summary(child));
        }
        return kids.isEmpty() ? sb.toString() : sb + " ← " + String.join(", ", kids);
    }

    /** The same query on the plain view and the MV, best of {@value #TIMING_RUNS} runs each, printed side by side. */
    private void timing(DriverMatrixQuery q) {
        String label = "endpoint query timed";
        try {
            double view = best(q, DriverMatrixQuery.VIEW);
            double mv = best(q, DriverMatrixQuery.MV);
            add(true, label, String.format("plain view %.1f ms, MV %.1f ms (%s faster), best of %d runs, limit %d",
                    view, mv, mv > 0 ? String.format("%.0f×", view / mv) : "∞", TIMING_RUNS, q.limit()));
        } catch (SQLException e) {
            add(false, label, "query failed: " + e.getMessage());
        }
    }

    /**
     * The runbook's "Rendimiento verificado (queries &lt; 2s)": the endpoint's typical query, on the relation the
     * endpoint would read now (the MV when it exists and is populated, else the plain view), must take less
     * than {@code maxQueryMs}. Judged on the median of {@value #TIMING_RUNS} runs: one slow run (a cold cache)
     * is not the typical request, two are.
     */
    private void queryUnderThreshold(DriverMatrixQuery q) {
        String label = "endpoint query under " + ms(options.maxQueryMs());
        String source;
        try {
            DriverMatrixRelation.Choice choice = DriverMatrixRelation.choose(c);
            source = (choice.mv() ? "materialized view " : "plain view ") + choice.relation()
                    + (choice.fallbackReason() == null ? "" : " (the endpoint falls back to it: " + choice.fallbackReason() + ")");
            double[] runs = Timing.runs(c, q.literalSql(choice.relation()), 0, TIMING_RUNS);
            double[] sorted = runs.clone();
            java.util.Arrays.sort(sorted);
            double median = sorted[TIMING_RUNS / 2];
            List<String> each = new ArrayList<>();
            for (double r : runs) {
                each.add(String.format("%.1f", r));
            }
            String detail = source + ": " + String.format("%.1f ms", median) + " (median of " + TIMING_RUNS + " runs: "
                    + String.join(", ", each) + " ms) for " + q.literalSql(choice.relation());
            if (median < options.maxQueryMs()) {
                add(true, label, detail);
            } else {
                add(false, label, detail + " — ≥ " + ms(options.maxQueryMs()) + ": "
                        + (choice.fallbackReason() != null ? "populate the MV (`opsmv refresh " + DriverMatrixQuery.MV + "`)"
                        : "check its plan (the item above), its indexes' bloat (`opsmv reindex`) and the server's load"));
            }
        } catch (SQLException e) {
            add(false, label, "query failed: " + e.getMessage());
        }
    }

    private static String ms(double ms) {
        if (ms >= 1000 && ms % 1000 == 0) {
            return (long) (ms / 1000) + " s";
        }
        return (ms == Math.rint(ms) ? Long.toString((long) ms) : Double.toString(ms)) + " ms";
    }

    private double best(DriverMatrixQuery q, String relation) throws SQLException {
        return java.util.Arrays.stream(Timing.runs(c, q.literalSql(relation), 0, TIMING_RUNS)).min().orElseThrow();
    }
}
