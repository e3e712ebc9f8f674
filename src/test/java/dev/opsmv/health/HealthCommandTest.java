package dev.opsmv.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.JsonSchemas;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Plans;
import dev.opsmv.testing.PromText;
import dev.opsmv.testing.Sql;

/**
 * Every bucket of `health`, produced from real rows in ops.mv_refresh_log (and real catalog states),
 * checked in all three formats with its Nagios exit code.
 */
// "newest": health reads pg_stat_activity and the recovery functions, whose columns change with the major
@Tag("newest")
class HealthCommandTest {
    static final String DM = "mv_payments_driver_matrix_cabinet";
    static final String LEDGER = "mv_yango_payments_ledger_latest";
    /** The claims chain, upstream first, so that their log rows never make each other stale. */
    static final List<String> CHAIN = List.of("mv_yango_payments_raw_current", LEDGER, "mv_yango_payments_ledger_latest_enriched",
            "mv_yango_receivable_payable_detail", "mv_claims_payment_status_cabinet", "mv_yango_cabinet_claims_for_collection");
    static final ObjectMapper JSON = new ObjectMapper();
    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
    }

    @BeforeEach
    void emptyLog() {
        Sql.exec(db, "DELETE FROM ops.mv_refresh_log", "DELETE FROM ops.mv_refresh_policy WHERE mv_name = 'mv_gone'");
    }

    /** The claims chain refreshed OK 10 h ago (fresh for its 24 h threshold), the driver matrix {@code dmAgo} ago (or never). */
    static void baseline(String dmAgo) {
        for (int i = 0; i < CHAIN.size(); i++) {
            ok(CHAIN.get(i), (600 - i) + " minutes");
        }
        if (dmAgo != null) {
            ok(DM, dmAgo);
        }
    }

    static void ok(String mv, String ago) {
        Sql.exec(db, """
                INSERT INTO ops.mv_refresh_log (run_id, schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms,
                                                status, method, rows_after_refresh, backend_pid)
                VALUES (gen_random_uuid(), 'ops', '%1$s', now() - interval '%2$s' - interval '1500 ms', now() - interval '%2$s', 1500,
                        'OK', 'CONCURRENTLY', (SELECT count(*) FROM ops.%1$s), 4242)""".formatted(mv, ago));
    }

    @Test
    void aYearOfRefreshLogCostsTheHealthViewAFewRowsPerMv() throws Exception {
        baseline("1 hour");
        // a year of hourly refreshes of the seven MVs, older than the baseline's, one run in ten failed
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, status, method) "
                + "SELECT 'ops', p.mv_name, now() - interval '1 day' - g * interval '1 hour', now() - interval '1 day' - g * interval '1 hour' + interval '5 s', "
                + "CASE WHEN g % 10 = 0 THEN 'ERROR' ELSE 'OK' END, 'CONCURRENTLY' FROM generate_series(1, 8760) g, ops.mv_refresh_policy p",
                "VACUUM ANALYZE ops.mv_refresh_log");
        String plan = String.valueOf(Sql.value(db, "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM ops.v_mv_health"));
        long read = Plans.rowsRead(JSON.readTree(plan).get(0).get("Plan"), "mv_refresh_log");
        // release v1.4's partial index: the newest OK run of each MV is the first entry read (the view sorted every OK run before)
        assertTrue(read > 0 && read <= 7 * 5, "rows of ops.mv_refresh_log read by the health view: " + read + "\n" + plan);
        assertEquals(0, Sql.count(db, """
                SELECT count(*) FROM ops.v_mv_health h
                WHERE h.last_ok_refresh_finished_at IS DISTINCT FROM (SELECT max(refresh_finished_at) FROM ops.mv_refresh_log l
                                                                     WHERE l.schema_name = h.schema_name AND l.mv_name = h.mv_name AND l.status = 'OK')"""),
                "the last OK refresh is still the newest one");
        check(null, 0, "OK");
    }

    @Test
    void okWhenEveryMvIsFresh() throws Exception {
        baseline("1 hour");
        JsonNode doc = check(null, 0, "OK");
        assertEquals(7, doc.get("mvs").size());
        for (JsonNode mv : doc.get("mvs")) {
            assertEquals("OK", mv.get("status").asText(), mv.toString());
            assertEquals("OK", mv.get("bucket").asText(), mv.toString());
            assertTrue(mv.get("populated").asBoolean());
            assertTrue(mv.get("rows_after_last_ok_refresh").asLong() > 0, mv.toString());
            assertEquals(0, mv.get("reasons").size(), mv.toString());
        }
        JsonNode dm = row(doc, DM);
        assertEquals(1.0, dm.get("hours_since_ok_refresh").asDouble(), 0.02);
        assertEquals(1500, dm.get("last_ok_duration_ms").asLong());
        assertEquals(Sql.count(db, "SELECT count(*) FROM ops." + DM), dm.get("rows_after_last_ok_refresh").asLong());
        // What the README shows: one MV in each format.
        for (String format : List.of("table", "json", "prometheus")) {
            System.out.println(run(new String[] {"--mv", DM}, format).out());
        }
    }

    @Test
    void warnPastTheMvsOwnWarnThreshold() throws Exception {
        baseline("3 hours"); // driver matrix: warn after 2 h, crit after 6 h
        JsonNode dm = row(check(null, 1, "WARN"), DM);
        assertEquals("WARN", dm.get("bucket").asText());
        assertTrue(dm.get("reasons").get(0).asText().contains("warn after 2 h"), dm.toString());
        row(check(DM, 1, "WARN"), DM);
        row(check("ops." + LEDGER, 0, "OK"), LEDGER); // 10 h is fine for a 24 h threshold
    }

    @Test
    void critPastTheCritThreshold() throws Exception {
        baseline("7 hours");
        JsonNode dm = row(check(DM, 2, "CRIT"), DM);
        assertEquals("CRIT", dm.get("bucket").asText());
        check(null, 2, "CRIT");
    }

    @Test
    void noRefreshLoggedIsWarn() throws Exception {
        baseline(null);
        JsonNode dm = row(check(DM, 1, "WARN"), DM);
        assertEquals("NO_REFRESH", dm.get("bucket").asText());
        assertTrue(dm.get("last_ok_refresh_finished_at").isNull());
        assertTrue(dm.get("hours_since_ok_refresh").isNull());
    }

    @Test
    void runningRowOlderThanStuckAfterMinutesIsWarn() throws Exception {
        baseline("1 hour");
        // A refresh started 10 minutes ago is just running (stuck after 30 min for the driver matrix).
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, status, method, backend_pid) "
                + "VALUES ('ops', '" + DM + "', now() - interval '10 minutes', 'RUNNING', 'CONCURRENTLY', 999999)");
        JsonNode running = row(check(DM, 0, "OK"), DM);
        assertFalse(running.get("running").get("stuck").asBoolean(), running.toString());
        assertEquals("RUNNING", running.get("last_status").asText());

        Sql.exec(db, "UPDATE ops.mv_refresh_log SET refresh_started_at = now() - interval '45 minutes' WHERE status = 'RUNNING'");
        JsonNode stuck = row(check(DM, 1, "WARN"), DM);
        assertEquals("OK", stuck.get("bucket").asText());
        JsonNode r = stuck.get("running");
        assertTrue(r.get("stuck").asBoolean());
        assertEquals(999999, r.get("backend_pid").asInt());
        assertFalse(r.get("backend_alive").asBoolean(), "pid 999999 is no live backend");
        assertEquals(30, r.get("stuck_after_minutes").asInt());
        assertTrue(stuck.get("reasons").toString().contains("stuck"), stuck.toString());
    }

    @Test
    void mvRefreshedBeforeItsUpstreamIsStale() throws Exception {
        baseline("1 hour");
        ok(LEDGER, "30 minutes"); // the driver matrix reads the ledger MV through the plain view
        JsonNode dm = row(check(DM, 1, "WARN"), DM);
        assertEquals("OK", dm.get("bucket").asText());
        assertEquals(1, dm.get("stale_upstream").size(), dm.toString());
        assertEquals("ops." + LEDGER, dm.get("stale_upstream").get(0).get("mv").asText());
        row(check(LEDGER, 0, "OK"), LEDGER);
    }

    @Test
    void unpopulatedMvIsCritEvenWhenTheLogSaysFresh() throws Exception {
        baseline("1 hour");
        Sql.exec(db, "REFRESH MATERIALIZED VIEW ops." + DM + " WITH NO DATA");
        try {
            JsonNode dm = row(check(DM, 2, "CRIT"), DM);
            assertEquals("OK", dm.get("bucket").asText());
            assertFalse(dm.get("populated").asBoolean());
            assertTrue(dm.get("exists").asBoolean());
        } finally {
            Sql.exec(db, "REFRESH MATERIALIZED VIEW ops." + DM);
        }
    }

    @Test
    void mvOfThePolicyThatDoesNotExistIsCrit() throws Exception {
        baseline("1 hour");
        Sql.exec(db, "INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours) "
                + "VALUES ('ops', 'mv_gone', true, 1, 2)");
        JsonNode gone = row(check("mv_gone", 2, "CRIT"), "mv_gone");
        assertFalse(gone.get("exists").asBoolean());
        check(null, 2, "CRIT");
    }

    @Test
    void driverMatrixWarnsOnceItsLastRefreshIsTwoHoursOld() throws Exception {
        // The runbook: "Vista Desactualizada: alertar si última actualización > 2 horas" (policy: warn 2 h, crit 6 h).
        baseline("118 minutes");
        JsonNode fresh = row(check(null, 0, "OK"), DM);
        assertEquals("OK", fresh.get("bucket").asText(), fresh.toString());
        Sql.exec(db, "DELETE FROM ops.mv_refresh_log");
        baseline("122 minutes");
        JsonNode stale = row(check(null, 1, "WARN"), DM);
        assertEquals("WARN", stale.get("bucket").asText(), stale.toString());
        assertTrue(stale.get("reasons").get(0).asText().contains("warn after 2 h"), stale.toString());
        for (JsonNode other : check(null, 1, "WARN").get("mvs")) {
            if (!other.get("mv").asText().equals(DM)) {
                assertEquals("OK", other.get("status").asText(), other.toString());
            }
        }
    }

    @Test
    void onlyACriticalMvsCritMakesTheOverallResultCrit() throws Exception {
        String raw = CHAIN.get(0); // not critical in the bundle's policy (the claims MV at the end of the chain is)
        assertEquals(false, Sql.value(db, "SELECT is_critical FROM ops.mv_refresh_policy WHERE mv_name = '" + raw + "'"));
        for (int i = 1; i < CHAIN.size(); i++) {
            ok(CHAIN.get(i), (600 - i) + " minutes");
        }
        ok(DM, "1 hour");
        ok(raw, "50 hours"); // past its 48 h critical threshold
        JsonNode doc = check(null, 1, "WARN");
        JsonNode row = row(doc, raw);
        assertEquals("CRIT", row.get("status").asText(), row.toString());
        assertEquals("CRIT", row.get("bucket").asText(), row.toString());
        assertFalse(row.get("is_critical").asBoolean());
        assertEquals("[\"ops." + raw + "\"]", doc.get("crit_counted_as_warn").toString());
        Cli.Result table = run(new String[0], "table");
        assertTrue(table.out().contains("CRIT of ops." + raw + " counts as WARN overall (is_critical = false"), table.toString());
        PromText.Parsed prom = PromText.parse(run(new String[0], "prometheus").out());
        assertEquals(0.0, prom.value("opsmv_mv_critical", Map.of("mv", raw)));
        assertEquals(1.0, prom.value("opsmv_mv_critical", Map.of("mv", DM)));
        assertEquals(1.0, prom.value("opsmv_mv_status", Map.of("mv", raw, "status", "CRIT")));
        // --mv alone: the same rule, the row stays CRIT and the result is WARN.
        assertEquals("CRIT", row(check(raw, 1, "WARN"), raw).get("status").asText());

        Sql.exec(db, "UPDATE ops.mv_refresh_policy SET is_critical = true WHERE mv_name = '" + raw + "'");
        try {
            JsonNode critical = check(null, 2, "CRIT");
            assertEquals(0, critical.get("crit_counted_as_warn").size(), critical.toString());
            assertTrue(row(critical, raw).get("is_critical").asBoolean());
        } finally {
            Sql.exec(db, "UPDATE ops.mv_refresh_policy SET is_critical = false WHERE mv_name = '" + raw + "'");
        }
    }

    @Test
    void lastRefreshFailedIsWarn() throws Exception {
        baseline("1 hour");
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, status, method, error_message) "
                + "VALUES ('ops', '" + DM + "', now() - interval '5 minutes', now() - interval '4 minutes', 'ERROR', 'CONCURRENTLY', 'canceling statement due to lock timeout')");
        JsonNode dm = row(check(DM, 1, "WARN"), DM);
        assertEquals("ERROR", dm.get("last_status").asText());
        assertEquals("canceling statement due to lock timeout", dm.get("last_error").asText());
    }

    @Test
    void unknownWhenTheDatabaseCannotBeReadOrTheArgumentsAreWrong() throws Exception {
        String dead = "postgres://postgres@127.0.0.1:" + Cli.deadPort() + "/nope";
        Cli.Result table = Cli.run("health", "--url", dead);
        assertEquals(3, table.exitCode(), table.toString());
        assertTrue(table.err().contains("UNKNOWN"), table.toString());

        Cli.Result json = Cli.run("health", "--url", dead, "--format", "json");
        assertEquals(3, json.exitCode(), json.toString());
        assertEquals("UNKNOWN", JsonSchemas.document("health", json.out()).get("status").asText());

        Cli.Result prom = Cli.run("health", "--url", dead, "--format", "prometheus");
        assertEquals(3, prom.exitCode(), prom.toString());
        assertEquals(0.0, PromText.parse(prom.out()).value("opsmv_health_up", Map.of()));

        Cli.Result noSuchMv = Cli.run("health", "--url", Cli.url(db), "--mv", "mv_nope");
        assertEquals(3, noSuchMv.exitCode(), noSuchMv.toString());
        assertTrue(noSuchMv.err().contains("mv_nope"), noSuchMv.toString());

        Cli.Result badFormat = Cli.run("health", "--url", Cli.url(db), "--format", "xml");
        assertEquals(3, badFormat.exitCode(), badFormat.toString());
        assertTrue(badFormat.err().contains("--format"), badFormat.toString());

        // Any other command-line mistake too: Nagios reads 2 as CRITICAL, and a typo in a check's
        // definition is not an outage.
        for (String[] argv : new String[][] {{"health", "--frobnicate"}, {"health", "--mv"}, {"health", "extra-argument"}}) {
            Cli.Result usage = Cli.run(argv);
            assertEquals(3, usage.exitCode(), usage.toString());
            assertEquals(1, usage.err().lines().filter(l -> !l.isBlank()).count(), usage.toString());
            assertTrue(usage.err().startsWith("opsmv: UNKNOWN: "), usage.toString());
        }
        assertEquals(0, Cli.run("health", "--help").exitCode());
    }

    @Test
    void emptyPolicyIsUnknownNotOk() throws Exception {
        Sql.exec(db, "CREATE TABLE public.policy_backup AS SELECT * FROM ops.mv_refresh_policy", "DELETE FROM ops.mv_refresh_policy");
        try {
            Cli.Result r = Cli.run("health", "--url", Cli.url(db), "--format", "json");
            assertEquals(3, r.exitCode(), r.toString());
            assertEquals("UNKNOWN", JsonSchemas.document("health", r.out()).get("status").asText());
        } finally {
            Sql.exec(db, "INSERT INTO ops.mv_refresh_policy SELECT * FROM public.policy_backup", "DROP TABLE public.policy_backup");
        }
    }

    /**
     * Runs health in the three formats; each must give {@code exit}, and agree on the overall status.
     * Returns the JSON document.
     */
    static JsonNode check(String mv, int exit, String overall) throws Exception {
        String[] filter = mv == null ? new String[0] : new String[] {"--mv", mv};
        Cli.Result table = run(filter, "table");
        Cli.Result json = run(filter, "json");
        Cli.Result prom = run(filter, "prometheus");
        assertEquals(exit, table.exitCode(), table.toString());
        assertEquals(exit, json.exitCode(), json.toString());
        assertEquals(exit, prom.exitCode(), prom.toString());

        assertTrue(table.out().contains("overall: " + overall + " (exit " + exit + ")"), table.toString());
        JsonNode doc = JsonSchemas.document("health", json.out());
        assertEquals(overall, doc.get("status").asText());
        assertEquals(exit, doc.get("exit_code").asInt());
        assertEquals(1, doc.get("format_version").asInt());

        PromText.Parsed metrics = PromText.parse(prom.out());
        assertEquals(1.0, metrics.value("opsmv_health_up", Map.of()));
        assertEquals(exit, metrics.value("opsmv_health_exit_code", Map.of()));
        for (JsonNode row : doc.get("mvs")) {
            String name = row.get("mv").asText();
            Map<String, String> labels = Map.of("schema", "ops", "mv", name);
            assertEquals(1.0, metrics.value("opsmv_mv_status", Map.of("mv", name, "status", row.get("status").asText())), name);
            assertEquals(1.0, metrics.value("opsmv_mv_freshness_bucket", Map.of("mv", name, "bucket", row.get("bucket").asText())), name);
            assertEquals(row.get("populated").asBoolean() ? 1.0 : 0.0, metrics.value("opsmv_mv_populated", labels));
            if (row.get("last_ok_refresh_finished_at").isNull()) {
                assertTrue(metrics.named("opsmv_mv_age_seconds").stream().noneMatch(s -> s.labels().get("mv").equals(name)));
            } else {
                double hours = row.get("hours_since_ok_refresh").asDouble();
                assertEquals(hours * 3600, metrics.value("opsmv_mv_age_seconds", labels), 60);
                assertEquals(row.get("rows_after_last_ok_refresh").asDouble(), metrics.value("opsmv_mv_rows", labels));
                assertEquals(1.5, metrics.value("opsmv_mv_last_refresh_duration_seconds", labels));
                assertTrue(metrics.value("opsmv_mv_last_ok_refresh_timestamp_seconds", labels) > 1.7e9);
            }
            assertTrue(table.out().lines().anyMatch(l -> l.startsWith("ops." + name + " ") && l.contains(" " + row.get("status").asText() + " ")),
                    table.toString());
        }
        return doc;
    }

    static Cli.Result run(String[] filter, String format) {
        String[] args = new String[filter.length + 5];
        args[0] = "health";
        args[1] = "--url";
        args[2] = Cli.url(db);
        args[3] = "--format";
        args[4] = format;
        System.arraycopy(filter, 0, args, 5, filter.length);
        return Cli.run(args);
    }

    static JsonNode row(JsonNode doc, String mv) {
        for (JsonNode row : doc.get("mvs")) {
            if (row.get("mv").asText().equals(mv)) {
                return row;
            }
        }
        throw new AssertionError("no row for " + mv + " in " + doc);
    }
}
