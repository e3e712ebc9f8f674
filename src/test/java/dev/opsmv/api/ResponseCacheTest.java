package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.PromText;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 27 items 1 and 2 on a real server and database: the response cache answers repeated requests without
 * a statement and never serves a page older than the MV, whoever refreshes it and by whichever method; ETag,
 * Last-Modified, 304 and Cache-Control follow the MV's refreshes and its policy.
 */
class ResponseCacheTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;
    static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    static final String PAGE = "/api/v1/ops/payments/driver-matrix?week_start_from=2000-01-03&limit=20";
    static ConnectionSpec db;
    static ApiServer server;
    static String base;
    static int version;

    @BeforeAll
    static void start() throws Exception {
        db = Deployed.bundleDatabase(800, Deployed.SHARED_SEED);
        server = new ApiServer(db, ApiConfig.defaults().withPort(0)
                // --cache-check 5s: untracked, answers are also dropped at that interval; two requests in a row on
                // a loaded CI machine must not straddle one (a 200 ms interval did, once)
                .withCache(new ApiConfig.Cache(true, 1000, 64L << 20, 5000, 60)));
        base = "http://127.0.0.1:" + server.start();
        awaitUsable();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static void awaitUsable() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode cache = JSON.readTree(get("/health", Map.of()).body()).get("response_cache");
            if (cache != null && cache.get("usable").asBoolean()) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the cache did not become usable in 10 s: " + get("/health", Map.of()).body());
    }

    static HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
        return Http.get(base + path, headers);
    }

    /** The MV's own rows for PAGE, as the endpoint writes park_id: what a fresh answer must hold. */
    static List<String> mvParks() {
        return Sql.strings(db, "SELECT park_id FROM " + MV + " WHERE week_start >= DATE '2000-01-03' ORDER BY week_start DESC, driver_id LIMIT 20");
    }

    static List<String> servedParks(HttpResponse<String> r) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode row : JSON.readTree(r.body()).get("rows")) {
            out.add(row.get("park_id").asText());
        }
        return out;
    }

    /** Changes the park of the page's drivers in the source: the MV shows it only once refreshed. */
    static String changeSource() {
        String park = "park-v" + (++version);
        Sql.exec(db, "UPDATE public.drivers SET park_id = '" + park + "' WHERE driver_id IN (SELECT driver_id FROM " + MV
                + " WHERE week_start >= DATE '2000-01-03' ORDER BY week_start DESC, driver_id LIMIT 20)");
        return park;
    }

    @Test
    void aRepeatedRequestIsAHitAndEveryWayOfRefreshingIsSeenByTheNextRequest() throws Exception {
        HttpResponse<String> first = get(PAGE, Map.of());
        assertEquals(200, first.statusCode(), first.body());
        HttpResponse<String> again = get(PAGE, Map.of());
        assertEquals("hit", again.headers().firstValue(ApiServer.CACHE_HEADER).orElse(""), "the same request twice is a hit");
        assertEquals(first.body(), again.body());
        assertEquals(mvParks(), servedParks(again));

        // opsmv's three methods (each logs OK in the refresh's transaction) and a psql REFRESH the event trigger logs
        List<String[]> ways = List.of(new String[] {"swap"}, new String[] {"concurrently"}, new String[] {"plain"}, new String[] {"psql"});
        for (String[] way : ways) {
            get(PAGE, Map.of()); // cached before the change
            String park = changeSource();
            assertEquals("hit", get(PAGE, Map.of()).headers().firstValue(ApiServer.CACHE_HEADER).orElse(""),
                    "the source changed but the MV did not: still the cached page");
            if (way[0].equals("psql")) {
                Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV);
            } else {
                Cli.Result r = Cli.on(db, "refresh", MV, "--method", way[0]);
                assertEquals(0, r.exitCode(), r.toString());
            }
            // no sleep: the request waits for a check of the MV that began after it arrived
            HttpResponse<String> after = get(PAGE, Map.of());
            assertEquals(200, after.statusCode());
            assertEquals(mvParks(), servedParks(after), way[0] + ": the next request sees the refreshed rows");
            assertTrue(servedParks(after).contains(park), way[0] + ": " + servedParks(after));
        }
        PromText.Parsed metrics = PromText.parse(get("/metrics", Map.of()).body());
        assertTrue(metrics.value("opsmv_cache_hits_total", Map.<String, String>of()) >= 5, "hits counted");
        assertTrue(metrics.value("opsmv_cache_invalidations_total", Map.of("reason", "refresh")) >= 4, "one drop per refresh");
        assertTrue(metrics.value("opsmv_cache_entries", Map.<String, String>of()) >= 1);
        assertTrue(metrics.value("opsmv_cache_bytes", Map.<String, String>of()) > 0);
        // one request at a time: each hit waited for a check of its own
        assertTrue(metrics.value("opsmv_cache_checks_total", Map.<String, String>of())
                >= metrics.value("opsmv_cache_hits_total", Map.<String, String>of()), "a check per request made one at a time");
    }

    @Test
    void aRefreshNoNotificationAnnouncesIsSeenByTheNextRequestToo() throws Exception {
        get(PAGE, Map.of());
        // no event trigger: a psql REFRESH writes no log row; the check each request waits for reads the MV's
        // identity, and the new relfilenode gives it away
        Sql.exec(db, "ALTER EVENT TRIGGER opsmv_track_refresh DISABLE");
        try {
            get(PAGE, Map.of()); // the check notices the missing trigger (and drops everything once)
            assertEquals("hit", get(PAGE, Map.of()).headers().firstValue(ApiServer.CACHE_HEADER).orElse(""));
            JsonNode cache = JSON.readTree(get("/health", Map.of()).body()).get("response_cache");
            assertEquals("untracked", cache.get("invalidation").asText(), cache.toString());
            double before = refreshDrops();
            String park = changeSource();
            Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV);
            List<String> served = servedParks(get(PAGE, Map.of()));
            assertEquals(mvParks(), served);
            assertTrue(served.contains(park), served.toString());
            assertEquals(before + 1, refreshDrops(), "dropped by the identity check");
        } finally {
            Sql.exec(db, "ALTER EVENT TRIGGER opsmv_track_refresh ENABLE");
        }
    }

    static double refreshDrops() throws Exception {
        return PromText.parse(get("/metrics", Map.of()).body()).named("opsmv_cache_invalidations_total").stream()
                .filter(x -> "refresh".equals(x.labels().get("reason"))).mapToDouble(PromText.Sample::value).sum();
    }

    @Test
    void aCurrentCopyIs304WithoutAStatementAndARefreshMakesItStale() throws Exception {
        HttpResponse<String> first = get(PAGE, Map.of());
        String etag = first.headers().firstValue("ETag").orElseThrow();
        String lastModified = first.headers().firstValue("Last-Modified").orElseThrow();
        assertTrue(etag.startsWith("W/\""), etag);
        assertTrue(first.headers().firstValue("Cache-Control").orElse("").matches("public, max-age=\\d+"), first.headers().map().toString());

        // the MV locked by a plain REFRESH left uncommitted: a statement would wait and fall back to the view
        try (Connection locker = db.open("cache-test-locker"); Statement st = locker.createStatement()) {
            locker.setAutoCommit(false);
            st.execute("REFRESH MATERIALIZED VIEW " + MV);
            long t0 = System.nanoTime();
            HttpResponse<String> notModified = get(PAGE, Map.of("If-None-Match", etag));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(304, notModified.statusCode());
            assertEquals("", notModified.body(), "no body");
            assertEquals(etag, notModified.headers().firstValue("ETag").orElse(""));
            assertTrue(ms < 150, "answered without waiting for the locked MV (lock_timeout 200 ms): " + ms + " ms");
            assertEquals(304, get(PAGE, Map.of("If-Modified-Since", lastModified)).statusCode(), "If-Modified-Since the last refresh");
            assertEquals(304, get(PAGE, Map.of("If-None-Match", "\"other\", " + etag)).statusCode(), "any tag of the list");
            locker.rollback();
        }
        assertEquals(200, get(PAGE, Map.of("If-None-Match", "W/\"other\"")).statusCode(), "another tag: the page");

        changeSource();
        assertEquals(0, Cli.on(db, "refresh", MV, "--method", "concurrently").exitCode());
        HttpResponse<String> stale = get(PAGE, Map.of("If-None-Match", etag));
        assertEquals(200, stale.statusCode(), "refreshed: the old copy is stale");
        assertNotEquals(etag, stale.headers().firstValue("ETag").orElse(""));
        assertEquals(mvParks(), servedParks(stale));
        String refreshedAt = Sql.value(db, "SELECT to_char(max(refresh_finished_at) AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS \"GMT\"') "
                + "FROM ops.mv_refresh_log WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'").toString();
        assertEquals(refreshedAt, stale.headers().firstValue("Last-Modified").orElse(""), "Last-Modified is the MV's last OK refresh");
    }

    @Test
    void maxAgeNeverReachesPastThePolicysWarnThreshold() throws Exception {
        // the last OK refresh 1 h 59 min 30 s ago, WARN at 2 h: a client may keep the page 30 s at most
        Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV,
                "UPDATE ops.mv_refresh_log SET refresh_finished_at = now() - interval '1 hour 59 minutes 30 seconds' "
                        + "- (SELECT max(refresh_id) FROM ops.mv_refresh_log) * interval '1 second' + refresh_id * interval '1 second' "
                        + "WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'");
        try (ApiServer other = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String url = "http://127.0.0.1:" + other.start() + PAGE;
            String cc = "";
            for (int i = 0; i < 200 && !cc.startsWith("public"); i++) {
                Thread.sleep(20); // the watch reads the policy when it connects
                cc = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
                        .headers().firstValue("Cache-Control").orElse("");
            }
            int maxAge = Integer.parseInt(cc.replaceAll("\\D", ""));
            assertTrue(maxAge > 0 && maxAge <= 30, cc);
        }
        try (ApiServer off = new ApiServer(db, ApiConfig.defaults().withPort(0).withoutCache())) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + off.start() + PAGE)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals("no-cache", r.headers().firstValue("Cache-Control").orElse(""), "nothing watches the MV: revalidate");
            assertEquals("off", r.headers().firstValue(ApiServer.CACHE_HEADER).orElse(""));
            assertTrue(r.headers().firstValue("ETag").isPresent(), "the ETag does not need the cache");
        }
    }

    @Test
    void csvAndGzipAreCachedAnswersOfTheirOwn() throws Exception {
        HttpResponse<String> json = get(PAGE, Map.of());
        HttpResponse<String> csv = get(PAGE, Map.of("Accept", "text/csv"));
        assertEquals(200, csv.statusCode());
        assertTrue(csv.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"), csv.headers().map().toString());
        String[] lines = csv.body().split("\r\n");
        assertEquals(21, lines.length, "a header line and 20 rows");
        assertTrue(lines[0].startsWith("driver_id,origin_tag,week_start"), lines[0]);
        assertEquals(JSON.readTree(json.body()).get("rows").get(0).get("driver_id").asText(), lines[1].split(",")[0]);
        assertEquals(csv.body(), get(PAGE + "&format=csv", Map.of()).body(), "format=csv is the same answer");
        assertEquals("hit", get(PAGE + "&format=csv", Map.of()).headers().firstValue(ApiServer.CACHE_HEADER).orElse(""));
        assertNotEquals(json.headers().firstValue("ETag"), csv.headers().firstValue("ETag"), "another representation, another tag");
        assertEquals(406, get(PAGE, Map.of("Accept", "text/html")).statusCode());
        assertEquals(200, get(PAGE, Map.of("Accept", "text/html, */*;q=0.1")).statusCode());

        HttpResponse<byte[]> gz = HTTP.send(HttpRequest.newBuilder(URI.create(base + PAGE)).header("Accept-Encoding", "gzip").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals("gzip", gz.headers().firstValue("Content-Encoding").orElse(""));
        String unzipped = new String(new GZIPInputStream(new ByteArrayInputStream(gz.body())).readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(get(PAGE, Map.of()).body(), unzipped);
        assertTrue(gz.body().length * 3 < unzipped.length(), "compressed: " + gz.body().length + " of " + unzipped.length());
        assertTrue(gz.headers().firstValue("Vary").orElse("").contains("Accept-Encoding"));
        HttpResponse<byte[]> small = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/ops/payments/driver-matrix?week_start_from=2999-01-06"))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(small.headers().firstValue("Content-Encoding").isEmpty(), "an empty page is not worth compressing");
    }

    @Test
    void healthSaysHowTheCacheLearnsOfRefreshes() throws Exception {
        get(PAGE, Map.of()); // a check: the rule /health reports is the last check's
        JsonNode cache = JSON.readTree(get("/health", Map.of()).body()).get("response_cache");
        assertNotNull(cache);
        assertTrue(cache.get("enabled").asBoolean());
        assertEquals("identity", cache.get("invalidation").asText());
        assertEquals(5000, cache.get("check_interval_ms").asInt());
        assertTrue(cache.get("state").asText().contains("read before each answer"), cache.toString());
        assertNull(cache.get("nothing_else"));
    }
}
