package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.PromText;
import dev.opsmv.testing.ServeProcess;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.StandbyPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 15 on two real clusters, a primary and its streaming standby (StandbyPair): refreshes made on the
 * primary reach the standby by WAL, serve answers from the standby with the replayed freshness, every
 * write command refuses the standby, health counts paused or lagging replay, and serve with both servers
 * reads from the standby first and from the primary once the standby is gone. The last test stops the
 * standby: the order is fixed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandbyReplicaTest {
    static final String MATRIX = "mv_payments_driver_matrix_cabinet";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;
    static StandbyPair pair;
    static ConnectionSpec primary;
    static ConnectionSpec standby;

    @BeforeAll
    static void start() throws Exception {
        pair = StandbyPair.start(300, 15);
        primary = pair.primary();
        standby = pair.standby();
    }

    @AfterAll
    static void stop() throws Exception {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    @Order(1)
    void refreshOnThePrimaryReachesTheStandbysMv() throws Exception {
        Sql.exec(primary,
                "CREATE TABLE public.replica_probe (id int PRIMARY KEY)",
                "CREATE MATERIALIZED VIEW ops.mv_zz_replica AS SELECT id FROM public.replica_probe",
                "CREATE UNIQUE INDEX ux_mv_zz_replica ON ops.mv_zz_replica (id)",
                "INSERT INTO public.replica_probe SELECT generate_series(1, 250)");
        pair.awaitReplay(Duration.ofSeconds(30));
        assertEquals(0, Sql.count(standby, "SELECT count(*) FROM ops.mv_zz_replica"), "not refreshed yet: the MV is empty");

        Cli.Result refresh = Cli.run("refresh", "--url", Cli.url(primary), "mv_zz_replica");
        assertEquals(0, refresh.exitCode(), refresh.toString());
        long t0 = System.nanoTime();
        long seen = 0;
        while (System.nanoTime() - t0 < Duration.ofSeconds(30).toNanos()) {
            seen = Sql.count(standby, "SELECT count(*) FROM ops.mv_zz_replica");
            if (seen == 250) {
                break;
            }
            Thread.sleep(20);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("[standby] the refreshed MV's rows visible on the standby " + ms + " ms after refresh returned");
        assertEquals(250, seen, "the standby's MV shows the refreshed rows within 30 s");
        pair.awaitReplay(Duration.ofSeconds(30));
        assertEquals(Sql.value(primary, "SELECT max(refresh_finished_at)::text FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_replica' AND status = 'OK'"),
                Sql.value(standby, "SELECT max(refresh_finished_at)::text FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_replica' AND status = 'OK'"),
                "the refresh log row travels with the MV");
    }

    @Test
    @Order(2)
    void everyWriteCommandRefusesTheStandbyAndChangesNothing() throws Exception {
        String before = state(primary) + " | " + state(standby);
        String url = Cli.url(standby);
        List<String[]> commands = List.of(
                new String[] {"update", "--url", url},
                new String[] {"rollback", "--count", "1", "--url", url},
                new String[] {"tag", "replica-test", "--url", url},
                new String[] {"refresh", "--all", "--url", url},
                new String[] {"reindex", "--all", "--url", url},
                new String[] {"schedule", "--pg-cron", "0 * * * *", "--url", url});
        for (String[] argv : commands) {
            Cli.Result r = Cli.run(argv);
            System.out.println("[standby] " + argv[0] + ": exit " + r.exitCode() + ": " + r.err().strip());
            assertEquals(3, r.exitCode(), r.toString());
            assertEquals("", r.out(), argv[0] + " printed nothing before refusing: " + r);
            String err = r.err().strip();
            assertFalse(err.contains("\n"), "one line: " + r);
            assertTrue(err.contains("is a standby (in recovery): " + argv[0] + " runs on the primary"), r.toString());
            assertFalse(err.contains("Exception") || err.contains("\tat "), r.toString());
        }
        pair.awaitReplay(Duration.ofSeconds(30));
        assertEquals(before, state(primary) + " | " + state(standby), "nothing changed on either side");

        Cli.Result two = Cli.run("tag", "x", "--url", Cli.url(primary), "--url", url);
        assertEquals(2, two.exitCode(), two.toString());
        assertTrue(two.err().contains("only serve reads from several servers"), two.toString());
    }

    /** What the write commands could change: history, tags, the refresh log, pg_cron jobs, index OIDs. */
    private static String state(ConnectionSpec db) {
        return Sql.value(db, """
                SELECT (SELECT count(*) || '/' || coalesce(string_agg(tag, ',' ORDER BY orderexecuted), '') FROM public.databasechangelog)
                    || ' ' || (SELECT count(*) || '/' || coalesce(max(refresh_id), 0) FROM ops.mv_refresh_log)
                    || ' ' || (SELECT string_agg(c.relname || '#' || c.relfilenode, ',' ORDER BY c.relname) FROM pg_class c
                               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ops' AND c.relkind IN ('m', 'i'))
                """).toString();
    }

    @Test
    @Order(3)
    void serveOnTheStandbyAnswersFromTheMvWithTheReplayedFreshness() throws Exception {
        assertEquals(0, Cli.run("refresh", "--url", Cli.url(primary), MATRIX).exitCode());
        pair.awaitReplay(Duration.ofSeconds(30));
        long lastOkMicros = ((Number) Sql.value(primary, "SELECT (extract(epoch FROM max(refresh_finished_at)) * 1000000)::bigint "
                + "FROM ops.mv_refresh_log WHERE mv_name = '" + MATRIX + "' AND status = 'OK'")).longValue();
        try (ApiServer server = new ApiServer(standby, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            HttpResponse<String> r = get(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("materialized_view", body.get("source").asText(), r.body());
            assertEquals(5, body.get("count").asInt(), r.body());
            assertTrue(body.get("in_recovery").asBoolean(), r.body());
            assertEquals(0.0, body.get("replay_lag_seconds").asDouble(), "caught up: nothing received is unreplayed; " + r.body());
            java.time.Instant shown = OffsetDateTime.parse(body.get("mv_last_ok_refresh_at").asText()).toInstant();
            assertEquals(lastOkMicros, shown.getEpochSecond() * 1_000_000 + shown.getNano() / 1000, "the primary's refresh, as replayed");

            HttpResponse<String> h = get(base + "/health");
            assertEquals(200, h.statusCode(), h.body());
            JsonNode health = JSON.readTree(h.body());
            assertTrue(health.get("in_recovery").asBoolean(), h.body());
            assertFalse(health.get("replay_paused").asBoolean(), h.body());
            JsonNode matrix = mv(health, MATRIX);
            assertEquals("OK", matrix.get("status").asText(), h.body());
            assertEquals(matrix.get("replay_lag_seconds").asDouble(), 0.0, h.body());

            PromText.Parsed metrics = PromText.parse(get(base + "/metrics").body());
            assertEquals(1.0, metrics.value("opsmv_in_recovery", java.util.Map.of()), "metrics from the standby");
            assertEquals(0.0, metrics.value("opsmv_replay_lag_seconds", java.util.Map.of()));
        }
        Cli.Result onPrimary = Cli.run("health", "--url", Cli.url(primary), "--format", "json", "--mv", MATRIX);
        JsonNode p = JSON.readTree(onPrimary.out());
        assertFalse(p.get("in_recovery").asBoolean(), onPrimary.toString());
        assertEquals(0.0, p.get("replay_lag_seconds").asDouble(), onPrimary.toString());
    }

    @Test
    @Order(4)
    void theStandbysResponseCacheSeesEveryReplayedRefreshAtTheNextRequest() throws Exception {
        String page = ApiServer.DRIVER_MATRIX_PATH + "?week_start_from=2000-01-03&limit=20";
        String mvPage = "SELECT park_id FROM ops." + MATRIX + " WHERE week_start >= DATE '2000-01-03' ORDER BY week_start DESC, driver_id LIMIT 20";
        try (ApiServer server = new ApiServer(standby, ApiConfig.defaults().withPort(0)
                .withCache(new ApiConfig.Cache(true, 100, 1L << 20, 2000, 60)))) {
            String base = "http://127.0.0.1:" + server.start();
            for (int i = 0; i < 500 && !JSON.readTree(get(base + "/health").body()).path("response_cache").path("usable").asBoolean(); i++) {
                Thread.sleep(20);
            }
            JsonNode cache = JSON.readTree(get(base + "/health").body()).get("response_cache");
            assertEquals("standby", cache.get("invalidation").asText(), cache.toString());
            int version = 0;
            int hits = 0;
            for (String way : List.of("swap", "concurrently", "plain", "psql")) {
                get(base + page);
                HttpResponse<String> again = get(base + page);
                hits += "hit".equals(again.headers().firstValue(ApiServer.CACHE_HEADER).orElse("")) ? 1 : 0;
                String park = "standby-park-" + (++version);
                Sql.exec(primary, "UPDATE public.drivers SET park_id = '" + park + "' WHERE driver_id IN (SELECT driver_id FROM ops." + MATRIX
                        + " WHERE week_start >= DATE '2000-01-03' ORDER BY week_start DESC, driver_id LIMIT 20)");
                if (way.equals("psql")) {
                    Sql.exec(primary, "REFRESH MATERIALIZED VIEW ops." + MATRIX);
                } else {
                    Cli.Result r = Cli.run("refresh", "--url", Cli.url(primary), MATRIX, "--method", way);
                    assertEquals(0, r.exitCode(), r.toString());
                }
                pair.awaitReplay(Duration.ofSeconds(30));
                HttpResponse<String> after = get(base + page);
                List<String> served = new java.util.ArrayList<>();
                for (JsonNode row : JSON.readTree(after.body()).get("rows")) {
                    served.add(row.get("park_id").asText());
                }
                assertEquals(Sql.strings(standby, mvPage), served, way + ": the first request after the replay sees the refreshed rows");
                assertTrue(served.contains(park), way + ": " + served);
            }
            // an answer is kept up to 2 s on a standby: the same request twice in a row is a hit (all but by chance)
            assertTrue(hits >= 3, "hits on the standby: " + hits + " of 4");
        }
    }

    static final double PAUSED_WARN_HOURS = 0.0005;

    @Test
    @Order(5)
    void pausedReplayIsWarnWithItsLagThenOkOnceResumed() throws Exception {
        // 0.003 h = 10.8 s: room for a loaded machine between a refresh and the health that must find it fresh; crit stays far.
        Sql.exec(primary, "UPDATE ops.mv_refresh_policy SET warn_after_hours = 0.003 WHERE mv_name = '" + MATRIX + "'");
        try {
            assertEquals(0, Cli.run("refresh", "--url", Cli.url(primary), MATRIX).exitCode());
            pair.awaitReplay(Duration.ofSeconds(30));
            Cli.Result fresh = health(standby);
            assertEquals(0, fresh.exitCode(), "just refreshed and replayed: " + fresh);
            // then 0.0005 h = 1.8 s, replayed before the pause: a threshold the standby's last refresh is soon past,
            // where 10.8 s had the test wait that long
            Sql.exec(primary, "UPDATE ops.mv_refresh_policy SET warn_after_hours = " + PAUSED_WARN_HOURS + " WHERE mv_name = '" + MATRIX + "'");
            pair.awaitReplay(Duration.ofSeconds(30));
            long lastReplayedRefresh = System.nanoTime();

            Sql.exec(standby, "SELECT pg_wal_replay_pause()");
            assertEquals(0, Cli.run("refresh", "--url", Cli.url(primary), MATRIX).exitCode());
            Thread.sleep(Math.max(0, (long) (PAUSED_WARN_HOURS * 3_600_000) + 200 - (System.nanoTime() - lastReplayedRefresh) / 1_000_000));
            Cli.Result paused = health(standby);
            JsonNode doc = JSON.readTree(paused.out());
            assertEquals(1, paused.exitCode(), paused.toString());
            assertEquals("WARN", doc.get("status").asText(), paused.toString());
            assertTrue(doc.get("replay_paused").asBoolean(), paused.toString());
            double lag = doc.get("replay_lag_seconds").asDouble();
            assertTrue(lag > 0, "the refresh the standby has received but not replayed is lag: " + paused);
            JsonNode row = mv(doc, MATRIX);
            assertEquals(lag, row.get("replay_lag_seconds").asDouble(), paused.toString());
            assertTrue(row.get("freshness_seconds").asDouble() > PAUSED_WARN_HOURS * 3600, paused.toString());
            assertTrue(row.get("reasons").toString().contains("WAL replay is paused"), paused.toString());
            Cli.Result prom = Cli.run("health", "--url", Cli.url(standby), "--format", "prometheus", "--mv", MATRIX);
            PromText.Parsed metrics = PromText.parse(prom.out());
            assertTrue(metrics.value("opsmv_replay_lag_seconds", java.util.Map.of()) > 0, prom.out());
            assertEquals(1.0, metrics.value("opsmv_replay_paused", java.util.Map.of()), prom.out());

            Sql.exec(standby, "SELECT pg_wal_replay_resume()");
            Sql.exec(primary, "UPDATE ops.mv_refresh_policy SET warn_after_hours = 0.003 WHERE mv_name = '" + MATRIX + "'");
            pair.awaitReplay(Duration.ofSeconds(30));
            Cli.Result resumed = health(standby);
            JsonNode after = JSON.readTree(resumed.out());
            assertEquals(0.0, after.get("replay_lag_seconds").asDouble(), resumed.toString());
            assertFalse(after.get("replay_paused").asBoolean(), resumed.toString());
            // The refresh made during the pause is now replayed, the threshold 10.8 s again; a new refresh shows
            // the standby OK again when the data is fresh and replay has caught up.
            assertEquals(0, Cli.run("refresh", "--url", Cli.url(primary), MATRIX).exitCode());
            pair.awaitReplay(Duration.ofSeconds(30));
            Cli.Result ok = health(standby);
            assertEquals(0, ok.exitCode(), ok.toString());
            assertEquals("OK", JSON.readTree(ok.out()).get("status").asText(), ok.toString());
        } finally {
            Sql.exec(primary, "UPDATE ops.mv_refresh_policy SET warn_after_hours = 2 WHERE mv_name = '" + MATRIX + "'");
            Sql.exec(standby, "SELECT pg_wal_replay_resume()");
        }
    }

    private static Cli.Result health(ConnectionSpec db) {
        return Cli.run("health", "--url", Cli.url(db), "--format", "json", "--mv", MATRIX);
    }

    @Test
    @Order(6)
    void serveWithBothServersReadsTheStandbyFirstAndThePrimaryWhenTheStandbyIsGone() throws Exception {
        pair.awaitReplay(Duration.ofSeconds(30));
        // The primary first on the command line: the standby is still preferred.
        ServeProcess serve = ServeProcess.start(OpsmvProcess.classpath(), "--port", "0", "--url", Cli.url(primary), "--url", Cli.url(standby));
        Process p = serve.process();
        try {
            String line = serve.firstLine();
            assertTrue(line != null && line.startsWith("opsmv serve: listening on http://127.0.0.1:"), String.valueOf(line));
            String url = "http://127.0.0.1:" + serve.port() + ApiServer.DRIVER_MATRIX_PATH + "?limit=3";
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = get(url);
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(JSON.readTree(r.body()).get("in_recovery").asBoolean(), "from the standby: " + r.body());
            }

            pair.stopStandby();
            List<Integer> codes = new ArrayList<>();
            long t0 = System.nanoTime();
            JsonNode last = null;
            while (System.nanoTime() - t0 < Duration.ofSeconds(60).toNanos()) {
                HttpResponse<String> r = get(url);
                codes.add(r.statusCode());
                if (r.statusCode() == 200) {
                    last = JSON.readTree(r.body());
                    break;
                }
                Thread.sleep(200);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("[standby] stopped; first answer from the primary after " + ms + " ms, codes before: " + codes);
            assertTrue(last != null, "no answer within 60 s after the standby stopped: " + codes);
            assertFalse(last.get("in_recovery").asBoolean(), "from the primary: " + last);
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = get(url);
                assertEquals(200, r.statusCode(), r.body());
                assertFalse(JSON.readTree(r.body()).get("in_recovery").asBoolean(), r.body());
            }
        } finally {
            p.destroy();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    private static JsonNode mv(JsonNode health, String name) {
        for (JsonNode m : health.get("mvs")) {
            if (m.get("mv").asText().equals(name)) {
                return m;
            }
        }
        throw new AssertionError(name + " not in " + health);
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return Http.get(url);
    }
}
