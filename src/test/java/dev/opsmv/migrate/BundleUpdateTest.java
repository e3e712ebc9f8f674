package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/** Issue 2: update creates every object of DESIGN.md; a second update changes nothing. */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class BundleUpdateTest {
    static final List<String> MVS = List.of(
            "mv_payments_driver_matrix_cabinet",
            "mv_yango_payments_raw_current",
            "mv_yango_payments_ledger_latest",
            "mv_yango_payments_ledger_latest_enriched",
            "mv_yango_receivable_payable_detail",
            "mv_claims_payment_status_cabinet",
            "mv_yango_cabinet_claims_for_collection");

    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(3_000, Deployed.SHARED_SEED);
    }

    @Test
    void everyMaterializedViewExistsPopulatedWithAValidUniqueIndexOnItsGrain() {
        for (String mv : MVS) {
            assertEquals(Boolean.TRUE, Sql.value(db, "SELECT ispopulated FROM pg_matviews WHERE schemaname = 'ops' AND matviewname = '" + mv + "'"),
                    mv + " must exist and be populated");
            long uniqueValid = Sql.count(db, """
                    SELECT count(*) FROM pg_index i
                    JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                    WHERE n.nspname = 'ops' AND t.relname = '%s' AND i.indisunique AND i.indisvalid
                      AND i.indpred IS NULL AND i.indexprs IS NULL
                    """.formatted(mv));
            assertEquals(1, uniqueValid, mv + " must have exactly one valid unique index usable by REFRESH CONCURRENTLY");
            assertTrue(Sql.count(db, "SELECT count(*) FROM ops." + mv) > 0, mv + " must hold rows");
        }
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
    }

    @Test
    void namedIndexesAreValidAndUniqueWherePromised() {
        Map<String, Boolean> uniqueByIndex = Map.ofEntries(
                Map.entry("idx_yango_payments_raw_key_snapshot", false),
                Map.entry("idx_yango_payments_raw_driver_milestone", false),
                Map.entry("idx_claims_cabinet_driver_milestone", false),
                Map.entry("idx_payment_calc_driver_milestone", false),
                Map.entry("idx_milestones_achieved_driver_milestone", false),
                Map.entry("idx_drivers_origin_week", false),
                Map.entry("ux_mv_yango_cabinet_claims_for_collection_grain", true),
                Map.entry("ux_mv_payments_driver_matrix_cabinet_grain", true),
                Map.entry("idx_mv_payments_driver_matrix_cabinet_origin_week", false));
        uniqueByIndex.forEach((index, unique) -> {
            List<Map<String, Object>> rows = Sql.rows(db,
                    "SELECT i.indisvalid, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '" + index + "'");
            assertEquals(1, rows.size(), index + " must exist once");
            assertEquals(true, rows.get(0).get("indisvalid"), index + " must be valid");
            assertEquals(unique, rows.get(0).get("indisunique"), index + " uniqueness");
        });
        assertEquals("driver_id, milestone_value", Sql.value(db, """
                SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain'
                """));
    }

    @Test
    void logPolicyAndHealthViewsExist() {
        assertEquals(List.of("mv_refresh_log", "mv_refresh_policy", "opsmv_adoption", "opsmv_bundle_index", "opsmv_bundle_object", "opsmv_carried"),
                Sql.strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'ops' ORDER BY 1"));
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy"));
        assertEquals(List.of("v_mv_health", "v_payments_driver_matrix_cabinet", "v_yango_cabinet_claims_mv_health"),
                Sql.strings(db, "SELECT viewname FROM pg_views WHERE schemaname = 'ops' ORDER BY 1"));
        assertEquals(List.of("last_ok_refresh_finished_at", "hours_since_ok_refresh", "status_bucket", "last_status", "last_error", "rows_after_refresh"),
                Sql.strings(db, """
                        SELECT column_name FROM information_schema.columns
                        WHERE table_schema = 'ops' AND table_name = 'v_yango_cabinet_claims_mv_health' ORDER BY ordinal_position
                        """));
        // The deployment records what it built (issue 11): health is OK right after update, not NO_REFRESH.
        assertEquals("OK", Sql.value(db, "SELECT status_bucket FROM ops.v_yango_cabinet_claims_mv_health"));
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.v_mv_health WHERE status_bucket = 'OK' AND is_populated"));
        assertEquals(7, Sql.count(db, "SELECT count(DISTINCT mv_name) FROM ops.mv_refresh_log WHERE status = 'OK' AND fallback_reason = 'built WITH DATA by a deployment'"));
    }

    @Test
    void historyEndsWithTheLatestReleaseTagAfterEveryReleaseTag() {
        // The master holds every release: v1.0, v1.1 (issue 7), v1.2 (issue 16), v1.3 (issue 13), v1.4 (the health
        // views' log index); update applies them all.
        assertEquals(List.of("opsmv-empty", "v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7"),
                Sql.strings(db, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted"));
        assertEquals(Releases.LAST, Sql.value(db, "SELECT tag FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1"));
    }

    @Test
    void aSecondUpdateChangesNothing() throws Exception {
        List<String> catalogBefore = Catalog.snapshot(db);
        List<String> historyBefore = Catalog.history(db);
        try (Connection c = db.open()) {
            Migrator migrator = Migrator.bundle(c, null);
            assertEquals(List.of(), migrator.pendingChangeSets());
            migrator.update();
        }
        assertEquals(catalogBefore, Catalog.snapshot(db));
        assertEquals(historyBefore, Catalog.history(db));
        assertFalse(historyBefore.isEmpty());
    }
}
