package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.LegacyDatabase;
import dev.opsmv.testing.Runbooks;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StockCli;

/**
 * Issue 10: the first update on the database the runbooks describe (objects built by psql scripts,
 * the refresh log with months of history, no Liquibase history) adopts what is identical, conforms
 * the log in place without losing a row, stops before any change where a definition differs, and
 * rollback gives the database back as the scripts had left it.
 */
@Tag("matrix")
class AdoptionTest {
    static final String CLAIMS_MV = "ops.mv_yango_cabinet_claims_for_collection";

    @Test
    void theRunbooksDatabaseIsAdoptedKeepingEveryHistoryRowAndRollbackGivesItBack() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(1_500, Deployed.SHARED_SEED, 0);
        int legacyRows = (int) Sql.count(db, "SELECT max(id) FROM ops.mv_refresh_log");
        assertTrue(legacyRows >= 30, "30+ history rows");
        assertTrue(Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'ERROR'") > 0, "ERROR rows among them");
        String history = LegacyDatabase.legacyLogChecksum(db, legacyRows);
        List<String> legacyCatalog = Catalog.snapshot(db);
        Map<String, String> legacyViews = viewDefinitions(db);
        String legacyMatrix = contents(db, "ops.mv_payments_driver_matrix_cabinet");

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), update.toString());
        assertTrue(update.out().contains("adopt    ops.mv_yango_payments_raw_current (materialized view): identical"), update.out());
        assertTrue(update.out().contains("alter    ops.mv_refresh_log (table): keeps its " + legacyRows + " row(s); adds refresh_id"), update.out());
        assertTrue(update.out().contains("replace  ops.v_yango_cabinet_claims_mv_health (view)"), update.out());
        assertTrue(update.out().contains("the same index exists as public.payment_calc_driver_id_milestone_value_idx"), update.out());
        assertTrue(update.out().contains("adopted: ops.mv_payments_driver_matrix_cabinet (identical)"), update.out());

        // every history row still there with its values; the adopted MVs kept their rows
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, legacyRows));
        assertEquals(List.of("MARK_RAN"), Sql.strings(db, "SELECT DISTINCT exectype FROM databasechangelog WHERE id IN ("
                + "'v1.0-mv_refresh_log', 'v1.0-mv_yango_payments_raw_current', 'v1.0-mv_claims_payment_status_cabinet', "
                + "'v1.0-mv_yango_cabinet_claims_for_collection', 'v1.0-v_payments_driver_matrix_cabinet', "
                + "'v1.0-idx_claims_cabinet_driver_milestone', 'v1.0-idx_payment_calc_driver_milestone')"));
        // the grain index built, valid; the bundle's indexes on adopted MVs built; the same index under another name not built twice
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid AND i.indisunique"));
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'ux_mv_yango_payments_raw_current_grain'"));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname IN ('idx_payment_calc_driver_milestone', 'ux_mv_claims_payment_status_cabinet_grain')"));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));

        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
        Cli.Result health = Cli.run("health", "--url", Cli.url(db));
        assertEquals(0, health.exitCode(), health.toString());
        // the runbook's troubleshooting query reads refreshed_at, written by every refresh since
        List<Map<String, Object>> last = Sql.rows(db, Runbooks.LAST_REFRESH_OF_UPSTREAM_MVS);
        assertEquals(5, last.size());
        assertEquals(5L, Sql.count(db, "SELECT count(DISTINCT mv_name) FROM ops.mv_refresh_log WHERE refreshed_at > now() - interval '10 minutes'"
                + " AND mv_name IN ('mv_yango_payments_raw_current', 'mv_yango_payments_ledger_latest', 'mv_yango_payments_ledger_latest_enriched',"
                + " 'mv_yango_receivable_payable_detail', 'mv_claims_payment_status_cabinet')"));
        assertEquals("OK", Sql.value(db, "SELECT status_bucket FROM ops.v_yango_cabinet_claims_mv_health"));
        Cli.Result verify = Cli.run("verify", "--url", Cli.url(db));
        assertTrue(verify.out().contains("base index public.idx_payment_calc_driver_milestone: adopted under its existing name "
                + "public.payment_calc_driver_id_milestone_value_idx"), verify.toString());
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, legacyRows));

        // a second update changes nothing
        List<String> adoptedCatalog = Catalog.snapshot(db);
        List<String> adoptedHistory = Catalog.history(db);
        Cli.Result again = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, again.exitCode(), again.toString());
        assertEquals(adoptedCatalog, Catalog.snapshot(db));
        assertEquals(adoptedHistory, Catalog.history(db));

        // rollback gives back what the psql scripts had left, history included (and the rows written since)
        long rowsNow = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log");
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(legacyViews, viewDefinitions(db));
        assertEquals(history, LegacyDatabase.legacyLogChecksum(db, legacyRows));
        assertEquals(rowsNow, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log"), "no history row lost, not even the ones written since");
        assertEquals(legacyMatrix, contents(db, "ops.mv_payments_driver_matrix_cabinet"));
        assertEquals(List.of("v1.0-baseline"), Sql.strings(db, "SELECT id FROM databasechangelog ORDER BY orderexecuted"));
    }

    @Test
    void aDifferingMvStopsBeforeAnyChangeAndIsReplacedOnRequestWithReadersRunning() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(1_500, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        List<String> legacyCatalog = Catalog.snapshot(db);
        String legacyClaims = contents(db, CLAIMS_MV);

        Cli.Result stopped = Cli.run("update", "--url", Cli.url(db));
        assertEquals(1, stopped.exitCode(), stopped.toString());
        assertTrue(stopped.out().contains("differs  ops.mv_yango_cabinet_claims_for_collection (materialized view)"), stopped.out());
        assertTrue(stopped.out().contains("-  priority_collection boolean"), "a readable diff: " + stopped.out());
        assertTrue(stopped.err().contains("--replace-differing") && stopped.err().contains("opsmv import"), stopped.err());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"));

        // the same database with readers on the MV: replaced in place, no reader ever fails
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger reads = new AtomicInteger();
        AtomicReference<Throwable> readerError = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (Connection c = db.open("reader"); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + CLAIMS_MV)) {
                        rs.next();
                    }
                    reads.incrementAndGet();
                }
            } catch (Throwable t) {
                readerError.compareAndSet(null, t);
            }
        });
        reader.start();
        Cli.Result replaced;
        try {
            replaced = Cli.run("update", "--replace-differing", "--url", Cli.url(db));
        } finally {
            stop.set(true);
            reader.join();
        }
        assertEquals(0, replaced.exitCode(), replaced.toString());
        assertEquals(null, readerError.get(), "readers never fail during the swap");
        assertTrue(reads.get() > 10, "readers kept reading: " + reads.get());
        assertTrue(replaced.out().contains("replaced: ops.mv_yango_cabinet_claims_for_collection rebuilt with the bundle's definition"), replaced.out());
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + CLAIMS_MV + "'::regclass AND attname = 'priority_collection'"));
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relkind = 'm' AND relname LIKE '%\\_pre\\_opsmv'"), "no MV kept beside it");
        assertTrue(String.valueOf(Sql.value(db, "SELECT undo_sql FROM ops.opsmv_adoption WHERE action = 'replace' AND undo_sql IS NOT NULL"))
                .contains("CREATE MATERIALIZED VIEW \"ops\".\"mv_yango_cabinet_claims_for_collection\""), "the original recorded, to be rebuilt by rollback");
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'ux_mv_yango_cabinet_claims_for_collection_grain'"));

        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(legacyCatalog, Catalog.snapshot(db));
        assertEquals(legacyClaims, contents(db, CLAIMS_MV), "the original MV is back with its rows");
    }

    @Test
    void theReplacedMvsIndexesAreBuiltOnTwoSessionsAtOnce() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(1_500, Deployed.SHARED_SEED, 0);
        // production's own driver matrix, straight over the source table: the bundle's rebuild of it has two
        // indexes (grain, origin/week)
        Sql.exec(db, "DROP MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet");
        Sql.exec(db, "CREATE MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet AS SELECT d.driver_id, d.origin_tag, d.week_start, "
                + "true AS owes FROM public.drivers d WHERE d.driver_id IS NOT NULL WITH DATA");
        // Each CREATE INDEX on the MV being built notes its session and lasts 0.5 s more, so that an index
        // taken by the second session is certain to be (the first session's build outlasts its start) and the
        // two builds' times show whether they ran together.
        Sql.exec(db, "CREATE TABLE public.opsmv_test_index_builds (index_name text, app text, pid int, started timestamptz, ended timestamptz)");
        Sql.exec(db, """
                CREATE FUNCTION public.opsmv_test_note_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
                DECLARE
                    cmd record;
                    t0 timestamptz;
                BEGIN
                    FOR cmd IN SELECT objid, object_identity FROM pg_event_trigger_ddl_commands() LOOP
                        IF EXISTS (SELECT FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                                   WHERE i.indexrelid = cmd.objid AND t.relname LIKE '%\\_opsmv\\_new') THEN
                            t0 := clock_timestamp();
                            PERFORM pg_sleep(0.5);
                            INSERT INTO public.opsmv_test_index_builds
                            VALUES (cmd.object_identity, current_setting('application_name'), pg_backend_pid(), t0, clock_timestamp());
                        END IF;
                    END LOOP;
                END $$""");
        Sql.exec(db, "CREATE EVENT TRIGGER opsmv_test_note_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX') "
                + "EXECUTE FUNCTION public.opsmv_test_note_index()");
        try {
            Cli.Result replaced = Cli.run("update", "--replace-differing", "--url", Cli.url(db));
            assertEquals(0, replaced.exitCode(), replaced.toString());
            assertEquals(2L, Sql.count(db, "SELECT count(*) FROM public.opsmv_test_index_builds"),
                    "the driver matrix's two indexes built once each: " + Sql.strings(db, "SELECT index_name || ' ' || app FROM public.opsmv_test_index_builds"));
            assertEquals(2L, Sql.count(db, "SELECT count(DISTINCT pid) FROM public.opsmv_test_index_builds"), "two sessions");
            assertEquals(1L, Sql.count(db, "SELECT count(*) FROM public.opsmv_test_index_builds WHERE app = 'opsmv-update-index'"),
                    "one of them is update's index session");
            assertEquals(1L, Sql.count(db, "SELECT count(*) FROM public.opsmv_test_index_builds a JOIN public.opsmv_test_index_builds b "
                    + "ON a.pid < b.pid AND a.started < b.ended AND b.started < a.ended"), "the two builds overlapped in time");
            assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ops.mv_payments_driver_matrix_cabinet'::regclass AND attname = 'owes'"));
        } finally {
            Sql.exec(db, "DROP EVENT TRIGGER IF EXISTS opsmv_test_note_index");
        }
    }

    @Test
    void statusAndUpdateSqlShowThePlanPerObjectAndChangeNothing() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        List<String> legacyCatalog = Catalog.snapshot(db);
        Cli.Result status = Cli.run("status", "--url", Cli.url(db));
        assertEquals(0, status.exitCode(), status.toString());
        assertTrue(status.out().contains("plan:      alter    ops.mv_refresh_log (table)"), status.out());
        assertTrue(status.out().contains("plan:      adopt    ops.mv_yango_payments_raw_current (materialized view): identical"), status.out());
        assertTrue(status.out().contains("plan:      differs  ops.mv_yango_cabinet_claims_for_collection (materialized view)"), status.out());
        assertTrue(status.out().contains("plan:      create   public.idx_drivers_origin_week (index)"), status.out());
        Cli.Result sql = Cli.run("update-sql", "--url", Cli.url(db));
        assertEquals(0, sql.exitCode(), sql.toString());
        assertTrue(sql.out().startsWith("-- opsmv plan: this database already holds objects of the bundle"), sql.out());
        assertTrue(sql.out().contains("-- opsmv plan: differs  ops.mv_yango_cabinet_claims_for_collection"), sql.out());
        assertTrue(sql.out().contains("-- opsmv plan:     +++ ops.mv_yango_cabinet_claims_for_collection (bundle"), "the diff, as SQL comments: " + sql.out());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "status and update-sql change nothing");
        assertEquals(0L, Sql.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'databasechangelog'"));
    }

    @Test
    void aPolicyTableOfAnotherShapeIsConformedInPlace() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        // a thresholds table someone built by hand: fewer columns, its own row for the driver matrix
        Sql.exec(db, "CREATE TABLE ops.mv_refresh_policy (schema_name text NOT NULL, mv_name text NOT NULL, is_critical boolean NOT NULL, "
                        + "warn_after_hours numeric NOT NULL, crit_after_hours numeric NOT NULL, PRIMARY KEY (schema_name, mv_name))",
                "INSERT INTO ops.mv_refresh_policy VALUES ('ops', 'mv_payments_driver_matrix_cabinet', true, 1, 3)");
        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), update.toString());
        assertTrue(update.out().contains("alter    ops.mv_refresh_policy (table): keeps its 1 row(s); adds stuck_after_minutes, refresh_enabled, notes"), update.out());
        assertEquals(7L, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy"), "the bundle's thresholds for the MVs it did not list");
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND warn_after_hours = 1"),
                "its own row kept as it was");
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(0, refresh.exitCode(), refresh.toString());
        assertEquals(0, Cli.run("health", "--url", Cli.url(db)).exitCode());
        Cli.Result rollback = Cli.run("rollback", "--tag", "opsmv-empty", "--url", Cli.url(db));
        assertEquals(0, rollback.exitCode(), rollback.toString());
        assertEquals(List.of("ops|mv_payments_driver_matrix_cabinet|t|1|3"),
                Sql.strings(db, "SELECT concat_ws('|', schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours) FROM ops.mv_refresh_policy"));
        assertEquals(List.of("schema_name", "mv_name", "is_critical", "warn_after_hours", "crit_after_hours"),
                Sql.strings(db, "SELECT attname FROM pg_attribute WHERE attrelid = 'ops.mv_refresh_policy'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"));
    }

    @Test
    void anIndexWithTheBundlesNameOnOtherColumnsStopsNamingBothDefinitions() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0);
        Sql.exec(db, "CREATE INDEX idx_drivers_origin_week ON public.drivers (park_id)");
        List<String> legacyCatalog = Catalog.snapshot(db);
        Cli.Result stopped = Cli.run("update", "--url", Cli.url(db));
        assertEquals(1, stopped.exitCode(), stopped.toString());
        assertTrue(stopped.out().contains("conflict public.idx_drivers_origin_week (index)"), stopped.out());
        assertTrue(stopped.out().contains("this database: CREATE INDEX idx_drivers_origin_week ON public.drivers USING btree (park_id)"), stopped.out());
        assertTrue(stopped.out().contains("bundle:        CREATE INDEX idx_drivers_origin_week ON public.drivers USING btree (origin_tag, week_start)"), stopped.out());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
    }

    @Test
    void duplicateGrainsInTheRunbooksMvHaltAsOnAFreshDatabase() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(1_000, 24, 3);
        List<String> legacyCatalog = Catalog.snapshot(db);
        Cli.Result stopped = Cli.run("update", "--url", Cli.url(db));
        assertEquals(1, stopped.exitCode(), stopped.toString());
        assertTrue(stopped.out().contains("3 duplicate grain(s)"), stopped.out());
        assertTrue(stopped.err().contains("update stopped before any change"), stopped.err());
        assertEquals(legacyCatalog, Catalog.snapshot(db), "nothing changed");
    }

    @Test
    // "once": the adoption gate is the changelog's SQL, the same through the stock CLI as through the runner above on every major
    @Tag("once")
    void theStockLiquibaseCliAdoptsTheSameWayAndStopsOnADifferenceNamingIt() throws Exception {
        ConnectionSpec viaRunner = LegacyDatabase.build(800, Deployed.SHARED_SEED, 0);
        ConnectionSpec viaCli = LegacyDatabase.build(800, Deployed.SHARED_SEED, 0);
        Cli.Result update = Cli.run("update", "--url", Cli.url(viaRunner));
        assertEquals(0, update.exitCode(), update.toString());

        StockCli.Result cli = StockCli.runnersLine().run(viaCli, "update");
        assertEquals(0, cli.exitCode(), cli.output());
        String rows = "SELECT filename || '::' || id || '::' || author || '::' || exectype || '::' || md5sum FROM databasechangelog ORDER BY orderexecuted";
        assertEquals(Sql.strings(viaRunner, rows), Sql.strings(viaCli, rows));
        assertEquals(Catalog.snapshot(viaRunner), Catalog.snapshot(viaCli));

        ConnectionSpec differing = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        StockCli.Result halted = StockCli.runnersLine().run(differing, "update");
        assertTrue(halted.exitCode() != 0, halted.output());
        assertTrue(halted.output().contains("ops.mv_yango_cabinet_claims_for_collection (materialized view, changeset v1.0-mv_yango_cabinet_claims_for_collection): another definition"),
                halted.output());
        assertTrue(halted.output().contains("opsmv status"), "names the runner command that shows the diff: " + halted.output());
        assertEquals(1L, Sql.count(differing, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + CLAIMS_MV + "'::regclass AND attname = 'priority_collection'"),
                "the differing MV is untouched");
    }

    static Map<String, String> viewDefinitions(ConnectionSpec db) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (Map<String, Object> row : Sql.rows(db, "SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ops' AND c.relkind IN ('v', 'm')")) {
            out.put((String) row.get("relname"), (String) row.get("def"));
        }
        return out;
    }

    static String contents(ConnectionSpec db, String relation) {
        return String.valueOf(Sql.value(db, "SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM " + relation + " t"));
    }
}
