package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.DeserializationFeature;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The endpoint on a real server (ephemeral port) against a real database, through java.net.http. */
// "newest": the endpoint's statement (plan_cache_mode per connection, the view's SQL) on PostgreSQL 18 too
@Tag("newest")
class ApiServerTest {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final HttpClient HTTP = Http.CLIENT;
    static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    static final String VIEW = "ops.v_payments_driver_matrix_cabinet";
    static ConnectionSpec db;
    static ApiServer server;
    static String base;

    @BeforeAll
    static void start() throws Exception {
        db = Deployed.bundleDatabase(1500, Deployed.SHARED_SEED);
        server = new ApiServer(db, ApiConfig.defaults().withPort(0).withoutCache());
        base = "http://127.0.0.1:" + server.start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void rowsEqualTheSameFilterOnThePlainView() throws Exception {
        LocalDate monday = LocalDate.now(ZoneOffset.UTC).with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
        String defaultFrom = monday.minusWeeks(8).toString();
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("", "week_start >= DATE '" + defaultFrom + "' ORDER BY week_start DESC, driver_id LIMIT 100");
        cases.put("origin_tag=cabinet", "origin_tag = 'cabinet' AND week_start >= DATE '" + defaultFrom + "' ORDER BY week_start DESC, driver_id LIMIT 100");
        String from = monday.minusWeeks(20).toString();
        String to = monday.minusWeeks(10).toString();
        cases.put("origin_tag=fleet&week_start_from=" + from + "&week_start_to=" + to + "&limit=50&offset=20",
                "origin_tag = 'fleet' AND week_start BETWEEN DATE '" + from + "' AND DATE '" + to + "' ORDER BY week_start DESC, driver_id LIMIT 50 OFFSET 20");
        cases.put("week_start_to=" + to, "week_start BETWEEN DATE '" + LocalDate.parse(to).minusWeeks(8) + "' AND DATE '" + to
                + "' ORDER BY week_start DESC, driver_id LIMIT 100");
        cases.put("week_start_from=2000-01-01&limit=1000", "week_start >= DATE '2000-01-01' ORDER BY week_start DESC, driver_id LIMIT 1000");
        cases.put("origin_tag=partner_api&week_start_from=2000-01-01&limit=7&offset=3",
                "origin_tag = 'partner_api' ORDER BY week_start DESC, driver_id LIMIT 7 OFFSET 3");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> r = get("/api/v1/ops/payments/driver-matrix" + (c.getKey().isEmpty() ? "" : "?" + c.getKey()));
            assertEquals(200, r.statusCode(), c.getKey() + ": " + r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("materialized_view", body.get("source").asText());
            List<Map<String, String>> expected = sqlRows("SELECT * FROM " + VIEW + " WHERE " + c.getValue());
            List<Map<String, String>> actual = jsonRows(body.get("rows"));
            assertTrue(expected.size() > 0, "filter selects nothing: " + c.getKey());
            assertEquals(expected, actual, c.getKey());
            assertEquals(expected.size(), body.get("count").asInt());
            System.out.println("driver-matrix ?" + c.getKey() + " → " + actual.size() + " rows, equal to the plain view");
        }
        JsonNode unfiltered = JSON.readTree(get("/api/v1/ops/payments/driver-matrix").body());
        assertEquals(defaultFrom, unfiltered.get("filters").get("week_start_from").asText());
        assertEquals("[\"week_start_from\",\"limit\"]", unfiltered.get("filters").get("defaults_applied").toString());
        assertEquals("week_start DESC, driver_id ASC", unfiltered.get("order_by").asText());
    }

    @Test
    void sourceFollowsTheMvStateWithoutRestart() throws Exception {
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method, rows_after_refresh) "
                + "VALUES ('ops', 'mv_payments_driver_matrix_cabinet', now() - interval '30 minutes 5 seconds', now() - interval '30 minutes', 5000, 'OK', 'PLAIN', 1500)");
        String lastOk = canonical(Sql.value(db, "SELECT max(refresh_finished_at) FROM ops.mv_refresh_log WHERE status = 'OK'"));
        String q = "/api/v1/ops/payments/driver-matrix?origin_tag=referral&week_start_from=2000-01-01&limit=1000";
        List<Map<String, String>> expected = sqlRows("SELECT * FROM " + VIEW + " WHERE origin_tag = 'referral' ORDER BY week_start DESC, driver_id LIMIT 1000");
        PrintStream realErr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(new TeeStream(realErr, log), true));
        try {
            HttpResponse<String> fromMv = get(q);
            JsonNode mvBody = JSON.readTree(fromMv.body());
            assertEquals("materialized_view", mvBody.get("source").asText());
            assertEquals("materialized_view", fromMv.headers().firstValue("X-Opsmv-Source").orElse(null));
            assertEquals(lastOk, OffsetDateTime.parse(mvBody.get("mv_last_ok_refresh_at").asText()).toInstant().toString());
            assertTrue(mvBody.get("fallback_reason").isNull());
            assertEquals(expected, jsonRows(mvBody.get("rows")));

            Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV + " WITH NO DATA");
            HttpResponse<String> fromView = get(q);
            JsonNode viewBody = JSON.readTree(fromView.body());
            assertEquals(200, fromView.statusCode(), fromView.body());
            assertEquals("view", viewBody.get("source").asText());
            assertEquals("view", fromView.headers().firstValue("X-Opsmv-Source").orElse(null));
            assertTrue(viewBody.get("fallback_reason").asText().contains("not populated"), viewBody.toString());
            assertTrue(viewBody.get("mv_last_ok_refresh_at").isNull());
            assertEquals(expected, jsonRows(viewBody.get("rows")));

            // CRIT (unpopulated) → /health answers 503; OK/WARN → 200.
            HttpResponse<String> crit = get("/health");
            assertEquals(503, crit.statusCode(), crit.body());
            assertEquals("CRIT", JSON.readTree(crit.body()).get("status").asText());

            Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV);
            assertEquals("materialized_view", JSON.readTree(get(q).body()).get("source").asText());
            HttpResponse<String> warn = get("/health");
            assertEquals(200, warn.statusCode(), warn.body());
        } finally {
            System.setErr(realErr);
        }
        String logged = log.toString();
        assertTrue(logged.contains("using materialized view"), logged);
        assertTrue(logged.contains("falling back to the plain view: materialized view " + MV + " is not populated"), logged);
    }

    @Test
    void droppedMvFallsBackToTheViewWithoutRestart() throws Exception {
        ConnectionSpec other = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        try (ApiServer s = new ApiServer(other, ApiConfig.defaults().withPort(0))) {
            String b = "http://127.0.0.1:" + s.start();
            String q = "/api/v1/ops/payments/driver-matrix?week_start_from=2000-01-01&limit=1000";
            assertEquals("materialized_view", JSON.readTree(send(b + q).body()).get("source").asText());
            Sql.exec(other, "DROP MATERIALIZED VIEW " + MV);
            HttpResponse<String> r = send(b + q);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("view", body.get("source").asText());
            assertTrue(body.get("fallback_reason").asText().contains("does not exist"), body.toString());
            assertEquals(Sql.count(other, "SELECT count(*) FROM " + VIEW), body.get("count").asLong());
        }
    }

    @Test
    void requestDuringAPlainRefreshDoesNotWaitForIt() throws Exception {
        String q = "/api/v1/ops/payments/driver-matrix?origin_tag=cabinet";
        try (Connection refresher = db.open("opsmv-tests-refresher"); Statement st = refresher.createStatement()) {
            refresher.setAutoCommit(false);
            st.execute("REFRESH MATERIALIZED VIEW " + MV); // holds ACCESS EXCLUSIVE until rollback
            long t0 = System.nanoTime();
            HttpResponse<String> r = get(q);
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf("driver-matrix during a plain REFRESH: HTTP %d, source %s, %.0f ms (lock_timeout %d ms)%n",
                    r.statusCode(), r.headers().firstValue("X-Opsmv-Source").orElse("-"), ms, ApiConfig.DEFAULT_LOCK_TIMEOUT_MS);
            assertTrue(ms < 5000, "took " + ms + " ms");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("view", body.get("source").asText());
            assertTrue(body.get("fallback_reason").asText().contains("locked"), body.toString());
            refresher.rollback();
        }
        assertEquals("materialized_view", JSON.readTree(get(q).body()).get("source").asText());
    }

    @Test
    void badParametersAre400NamingTheParameter() throws Exception {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("origin_tag=martian", "origin_tag");
        cases.put("week_start_from=yesterday", "week_start_from");
        cases.put("week_start_to=2026-02-30", "week_start_to");
        cases.put("limit=0", "limit");
        cases.put("limit=100000", "limit");
        cases.put("limit=ten", "limit");
        cases.put("offset=-1", "offset");
        cases.put("week_start_from=2026-03-02&week_start_to=2026-01-05", "week_start_from");
        cases.put("colour=blue", "colour");
        cases.put("limit=5&limit=6", "limit");
        // issue 27: ISO lets the sign and more digits through; the statement's date then wrapped (500, 22008)
        cases.put("week_start_from=%2B999999999-12-31", "week_start_from");
        cases.put("week_start_to=-000001-01-01", "week_start_to");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> r = get("/api/v1/ops/payments/driver-matrix?" + c.getKey());
            assertEquals(400, r.statusCode(), c.getKey() + ": " + r.body());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
            JsonNode body = JSON.readTree(r.body());
            assertEquals(c.getValue(), body.get("parameter").asText(), c.getKey());
            assertTrue(body.get("error").asText().length() > 10, body.toString());
            System.out.println("?" + c.getKey() + " → 400 " + r.body().replaceAll("\\s+", " "));
        }
        HttpResponse<String> notFound = get("/api/v1/nothing-here");
        assertEquals(404, notFound.statusCode());
        assertTrue(JSON.readTree(notFound.body()).get("error").asText().contains("/api/v1/nothing-here"));
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());
        assertTrue(JSON.readTree(post.body()).has("error"));
    }

    @Test
    void whatTheHttpLayerRefusesIsJsonToo() throws Exception {
        // never reach the handler: a request line that is not HTTP, headers larger than the server takes
        String huge = "x".repeat(20_000);
        for (String raw : List.of("NOT A REQUEST\r\n\r\n", "GET /livez HTTP/7.1\r\nHost: x\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + huge + "\r\n\r\n")) {
            String answer = rawExchange(raw);
            String head = answer.substring(0, Math.max(0, answer.indexOf("\r\n\r\n")));
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            System.out.println(raw.substring(0, Math.min(30, raw.length())).replaceAll("\\s+", " ") + "… → " + head.lines().findFirst().orElse("") + " " + body);
            assertTrue(head.matches("(?s)HTTP/1\\.1 [45]\\d\\d .*"), head);
            assertTrue(head.toLowerCase(java.util.Locale.ROOT).contains("content-type: application/json"), head);
            assertTrue(JSON.readTree(body).get("error").asText().length() > 3, body);
            assertTrue(!body.contains("<html") && !body.contains("\tat "), body);
        }
    }

    /** Sends raw bytes and reads until the server closes the connection. */
    static String rawExchange(String raw) throws Exception {
        URI u = URI.create(base);
        try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(raw.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void metricsParseAndCountRequestsBySource() throws Exception {
        get("/api/v1/ops/payments/driver-matrix");
        get("/api/v1/ops/payments/driver-matrix?limit=0");
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        PromText.Parsed m = PromText.parse(r.body());
        assertEquals(1.0, m.value("opsmv_health_up", Map.of()));
        assertTrue(m.value("opsmv_http_requests_total", Map.of("endpoint", "driver_matrix", "source", "materialized_view", "code", "200")) >= 1);
        assertTrue(m.value("opsmv_http_requests_total", Map.of("endpoint", "driver_matrix", "source", "none", "code", "400")) >= 1);
        assertTrue(m.value("opsmv_http_request_duration_seconds_count", Map.of("endpoint", "driver_matrix", "source", "materialized_view")) >= 1);
        assertTrue(m.value("opsmv_http_request_duration_seconds_bucket",
                Map.of("endpoint", "driver_matrix", "source", "materialized_view", "le", "+Inf")) >= 1);
        assertEquals(1.0, m.value("opsmv_mv_populated", Map.of("mv", "mv_payments_driver_matrix_cabinet")));
        assertEquals("histogram", m.types().get("opsmv_http_request_duration_seconds"));
    }

    @Test
    void databaseDownIs503JsonNeverAStackTrace() throws Exception {
        ConnectionSpec dead = ConnectionSpec.of("127.0.0.1", Cli.deadPort(), "nope", "postgres", null);
        try (ApiServer s = new ApiServer(dead, ApiConfig.defaults().withPort(0).withConnectionTimeoutMs(500))) {
            String b = "http://127.0.0.1:" + s.start();
            HttpResponse<String> r = send(b + "/api/v1/ops/payments/driver-matrix");
            assertEquals(503, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertTrue(body.get("error").asText().startsWith("database unavailable"), r.body());
            assertTrue(!r.body().contains("\tat ") && !r.body().contains("Exception"), r.body());
            HttpResponse<String> health = send(b + "/health");
            assertEquals(503, health.statusCode());
            assertEquals("UNKNOWN", JSON.readTree(health.body()).get("status").asText());
            HttpResponse<String> metrics = send(b + "/metrics");
            assertEquals(200, metrics.statusCode());
            assertEquals(0.0, PromText.parse(metrics.body()).value("opsmv_health_up", Map.of()));
            // Bad parameters are still 400: validation does not need the database.
            assertEquals(400, send(b + "/api/v1/ops/payments/driver-matrix?limit=0").statusCode());
        }
    }

    @Test
    void databaseGoneWhileServingIs503() throws Exception {
        ConnectionSpec doomed = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        try (ApiServer s = new ApiServer(doomed, ApiConfig.defaults().withPort(0).withConnectionTimeoutMs(1000))) {
            String b = "http://127.0.0.1:" + s.start();
            String q = b + "/api/v1/ops/payments/driver-matrix";
            assertEquals(200, send(q).statusCode());
            // Every pooled connection is killed and the database is gone: what a stopped server looks like to the pool.
            Sql.exec(dev.opsmv.testing.TestPostgres.admin(), "DROP DATABASE " + doomed.database() + " WITH (FORCE)");
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = send(q);
                double ms = (System.nanoTime() - t0) / 1e6;
                System.out.printf("driver-matrix after DROP DATABASE: HTTP %d in %.0f ms: %s%n", r.statusCode(), ms, r.body().replaceAll("\\s+", " "));
                assertEquals(503, r.statusCode(), r.body());
                assertTrue(JSON.readTree(r.body()).get("error").asText().startsWith("database unavailable"), r.body());
                assertTrue(ms < 5000, "took " + ms + " ms");
            }
            assertEquals(503, send(b + "/health").statusCode());
        }
    }

    static HttpResponse<String> get(String path) throws Exception {
        return send(base + path);
    }

    static HttpResponse<String> send(String url) throws Exception {
        return Http.get(url);
    }

    /** Rows from SQL, each value in a canonical text form shared with {@link #jsonRows}. */
    static List<Map<String, String>> sqlRows(String sql) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, Object> row : Sql.rows(db, sql)) {
            Map<String, String> r = new LinkedHashMap<>();
            row.forEach((k, v) -> r.put(k, canonical(v)));
            out.add(r);
        }
        return out;
    }

    static List<Map<String, String>> jsonRows(JsonNode rows) {
        List<Map<String, String>> out = new ArrayList<>();
        for (JsonNode row : rows) {
            Map<String, String> r = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                String text;
                if (v.isNull()) {
                    text = null;
                } else if (v.isNumber()) {
                    text = canonical(v.decimalValue());
                } else if (v.isBoolean()) {
                    text = Boolean.toString(v.booleanValue());
                } else if (v.asText().matches("\\d{4}-\\d\\d-\\d\\dT.*")) {
                    text = OffsetDateTime.parse(v.asText()).toInstant().toString();
                } else {
                    text = v.asText();
                }
                r.put(e.getKey(), text);
            }
            out.add(r);
        }
        return out;
    }

    static String canonical(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof BigDecimal d) {
            return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
        }
        if (v instanceof Number n) {
            return canonical(new BigDecimal(n.toString()));
        }
        if (v instanceof Timestamp t) {
            return t.toInstant().toString();
        }
        if (v instanceof OffsetDateTime t) {
            return t.toInstant().toString();
        }
        return v.toString();
    }

    /** Copies the server's log (System.err) into a buffer while still printing it. */
    static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int x) throws java.io.IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
