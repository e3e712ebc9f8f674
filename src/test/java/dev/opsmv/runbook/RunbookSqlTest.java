package dev.opsmv.runbook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Runbooks;
import dev.opsmv.testing.Sql;

/**
 * Issue 11: every SQL statement the two runbooks (shared/seeds) print that reads ops objects or the
 * catalog, pasted as written, against the deployed bundle after a refresh, returning what the
 * runbook says it returns. Where a step is not valid PostgreSQL (REINDEX MATERIALIZED VIEW), the
 * test shows it fails and the documented better way is covered elsewhere (opsmv reindex).
 */
// "newest": operators paste this catalog SQL on whatever major they run
@Tag("newest")
class RunbookSqlTest {
    static ConnectionSpec db;

    @BeforeAll
    static void deployAndRefresh() {
        db = Deployed.bundleDatabase(2_000, 11);
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
    }

    // --- runbook 000 (driver matrix deployment) ---

    @Test
    void step1TheBaseIndexVerificationFindsTheIndexesItsPatternsName() {
        List<Map<String, Object>> rows = Sql.rows(db, """
                SELECT schemaname, tablename, indexname
                FROM pg_indexes
                WHERE indexname LIKE 'idx_%driver_matrix%'
                   OR indexname LIKE 'idx_%payment_calc%'
                   OR indexname LIKE 'idx_%claims_cabinet%'
                   OR indexname LIKE 'idx_%milestones_achieved%'
                ORDER BY schemaname, tablename, indexname;
                """);
        List<Object> names = rows.stream().map(r -> r.get("indexname")).toList();
        assertTrue(names.containsAll(List.of("idx_claims_cabinet_driver_milestone", "idx_milestones_achieved_driver_milestone",
                "idx_payment_calc_driver_milestone", "idx_mv_payments_driver_matrix_cabinet_origin_week")), names.toString());
        // What its patterns miss (docs/TROUBLESHOOTING.md gives the query that lists every bundle index; verify checks them by name):
        assertTrue(!names.contains("idx_drivers_origin_week") && !names.contains("idx_yango_payments_raw_driver_milestone"), names.toString());
    }

    @Test
    void step2TheMvExistsWithItsIndexes() {
        List<Map<String, Object>> mv = Sql.rows(db, """
                SELECT schemaname, matviewname, hasindexes
                FROM pg_matviews
                WHERE schemaname = 'ops'
                AND matviewname = 'mv_payments_driver_matrix_cabinet';
                """);
        assertEquals(1, mv.size());
        assertEquals(Boolean.TRUE, mv.get(0).get("hasindexes"));
        List<Map<String, Object>> indexes = Sql.rows(db, """
                SELECT indexname, indexdef
                FROM pg_indexes
                WHERE schemaname = 'ops'
                AND tablename = 'mv_payments_driver_matrix_cabinet';
                """);
        assertTrue(indexes.size() >= 2, indexes.toString());
    }

    @Test
    void postDeploymentCountReturnsOneRow() {
        List<Map<String, Object>> rows = Sql.rows(db, """
                SELECT COUNT(*)
                FROM ops.mv_payments_driver_matrix_cabinet;
                """);
        assertEquals(1, rows.size(), "Debe retornar 1 fila");
        assertEquals(2_000L, rows.get(0).get("count"));
    }

    @Test
    void theViewAndTheMvAnswerTheComparisonQuery() {
        assertTrue(Sql.rows(db, """
                SELECT * FROM ops.v_payments_driver_matrix_cabinet
                WHERE origin_tag = 'cabinet'
                LIMIT 25;
                """).size() == 25);
        assertTrue(Sql.rows(db, """
                SELECT * FROM ops.mv_payments_driver_matrix_cabinet
                WHERE origin_tag = 'cabinet'
                LIMIT 25;
                """).size() == 25);
    }

    @Test
    void troubleshootingFindsTheUniqueIndexAndTheMv() {
        assertEquals(1, Sql.rows(db, """
                SELECT indexname, indexdef
                FROM pg_indexes
                WHERE schemaname = 'ops'
                AND tablename = 'mv_payments_driver_matrix_cabinet'
                AND indexdef LIKE '%UNIQUE%';
                """).size());
        assertEquals(1, Sql.rows(db, "SELECT * FROM pg_matviews WHERE matviewname = 'mv_payments_driver_matrix_cabinet';").size());
    }

    @Test
    void theSizeQueryAnswers() {
        List<Map<String, Object>> rows = Sql.rows(db, """
                SELECT
                    pg_size_pretty(pg_total_relation_size('ops.mv_payments_driver_matrix_cabinet')) AS total_size,
                    pg_size_pretty(pg_relation_size('ops.mv_payments_driver_matrix_cabinet')) AS table_size,
                    pg_size_pretty(pg_indexes_size('ops.mv_payments_driver_matrix_cabinet')) AS indexes_size;
                """);
        assertEquals(1, rows.size());
        assertTrue(String.valueOf(rows.get(0).get("total_size")).matches("\\d+ (bytes|kB|MB|GB)"), rows.toString());
    }

    @Test
    void reindexMaterializedViewIsNotPostgresql() throws Exception {
        // The runbook's "Actualizar Índices" step; `opsmv reindex` (REINDEX TABLE CONCURRENTLY) is the way that works.
        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> st.execute("REINDEX MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet;"));
            assertEquals("42601", e.getSQLState(), e.getMessage());
        }
    }

    // --- runbook 003 (claims MV refresh) ---

    @Test
    void query2OnTheMvReturnsNoRows() {
        assertEquals(0, Sql.rows(db, """
                SELECT
                    driver_id,
                    milestone_value,
                    COUNT(*) AS count_duplicates
                FROM ops.mv_yango_cabinet_claims_for_collection
                GROUP BY driver_id, milestone_value
                HAVING COUNT(*) > 1
                ORDER BY count_duplicates DESC
                LIMIT 200;
                """).size(), "Resultado esperado: 0 filas");
    }

    @Test
    void step2IsIdempotentAndStep3FindsTheIndex() {
        Sql.exec(db, "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_mv_yango_cabinet_claims_for_collection_grain ON ops.mv_yango_cabinet_claims_for_collection (driver_id, milestone_value);");
        assertEquals(1, Sql.rows(db, """
                SELECT
                    schemaname,
                    indexname,
                    indexdef
                FROM pg_indexes
                WHERE schemaname = 'ops'
                  AND tablename = 'mv_yango_cabinet_claims_for_collection'
                  AND indexname = 'ux_mv_yango_cabinet_claims_for_collection_grain';
                """).size(), "Resultado esperado: 1 fila con el índice definido");
    }

    @Test
    void theHealthViewReturnsItsSixColumnsInOrder() {
        List<Map<String, Object>> rows = Sql.rows(db, "SELECT * FROM ops.v_yango_cabinet_claims_mv_health;");
        assertEquals(1, rows.size());
        assertEquals(List.of("last_ok_refresh_finished_at", "hours_since_ok_refresh", "status_bucket", "last_status", "last_error", "rows_after_refresh"),
                List.copyOf(rows.get(0).keySet()));
        assertEquals("OK", rows.get(0).get("status_bucket"));
    }

    @Test
    void troubleshootingQueriesOnTheLogRun() {
        assertEquals(1, Sql.rows(db, """
                SELECT error_message, refresh_started_at
                FROM ops.mv_refresh_log
                WHERE schema_name = 'ops'
                  AND mv_name = 'mv_yango_cabinet_claims_for_collection'
                ORDER BY refresh_started_at DESC
                LIMIT 1;
                """).size());
        List<Map<String, Object>> last = Sql.rows(db, Runbooks.LAST_REFRESH_OF_UPSTREAM_MVS);
        assertEquals(5, last.size());
        assertTrue(last.stream().allMatch(r -> r.get("last_refresh") != null), last.toString());
        assertEquals(0, Sql.rows(db, """
                SELECT * FROM ops.mv_refresh_log
                WHERE schema_name = 'ops'
                  AND mv_name = 'mv_yango_cabinet_claims_for_collection'
                  AND status = 'RUNNING'
                ORDER BY refresh_started_at DESC;
                """).size());
    }

    @Test
    void populatedCheckIndexesAndAnalyze() {
        List<Map<String, Object>> mv = Sql.rows(db, """
                SELECT schemaname, matviewname, ispopulated
                FROM pg_matviews
                WHERE schemaname = 'ops'
                  AND matviewname = 'mv_yango_cabinet_claims_for_collection';
                """);
        assertEquals(Boolean.TRUE, mv.get(0).get("ispopulated"));
        assertTrue(Sql.rows(db, """
                SELECT indexname, indexdef
                FROM pg_indexes
                WHERE schemaname = 'ops'
                  AND tablename = 'mv_yango_cabinet_claims_for_collection';
                """).size() >= 2);
        Sql.exec(db, "ANALYZE ops.mv_yango_cabinet_claims_for_collection;");
    }

    @Test
    void refreshesByHandAreRecordedSoHealthStaysTrue() {
        long before = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_yango_cabinet_claims_for_collection'");
        Sql.exec(db, "REFRESH MATERIALIZED VIEW CONCURRENTLY ops.mv_yango_cabinet_claims_for_collection;");
        Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection;");
        List<String> methods = Sql.strings(db, "SELECT method FROM ops.mv_refresh_log WHERE mv_name = 'mv_yango_cabinet_claims_for_collection' "
                + "AND status = 'OK' ORDER BY refresh_id DESC LIMIT 2");
        assertEquals(List.of("PLAIN", "CONCURRENTLY"), methods);
        assertEquals(before + 2, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_yango_cabinet_claims_for_collection'"));
    }
}
