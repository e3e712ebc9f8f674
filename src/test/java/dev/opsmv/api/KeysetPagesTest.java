package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Issue 27 item 3: keyset pages by an opaque cursor, walked to the end and compared with the MV's own order. */
class KeysetPagesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;
    static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    static ConnectionSpec db;
    static ApiServer server;
    static String base;

    @BeforeAll
    static void start() throws Exception {
        db = Deployed.bundleDatabase(1500, Deployed.SHARED_SEED);
        server = new ApiServer(db, ApiConfig.defaults().withPort(0));
        base = "http://127.0.0.1:" + server.start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static HttpResponse<String> get(String pathAndQuery) throws Exception {
        return Http.get(base + pathAndQuery);
    }

    /** Every driver of the listing, page by page, following `next` (and checking Link says the same). */
    static List<Long> walk(String query) throws Exception {
        List<Long> ids = new ArrayList<>();
        String url = ApiServer.DRIVER_MATRIX_PATH + "?" + query;
        for (int page = 0; page < 1000; page++) {
            HttpResponse<String> r = get(url);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            for (JsonNode row : body.get("rows")) {
                ids.add(row.get("driver_id").asLong());
            }
            JsonNode next = body.get("next");
            if (next.isNull()) {
                assertTrue(r.headers().firstValue("Link").isEmpty(), "no Link on the last page");
                return ids;
            }
            String link = r.headers().firstValue("Link").orElseThrow();
            assertTrue(link.endsWith(">; rel=\"next\""), link);
            url = link.substring(1, link.indexOf('>'));
            assertTrue(url.contains("after=" + next.asText()), link);
            assertFalse(url.contains("offset="), link);
        }
        throw new AssertionError("more than 1000 pages");
    }

    @Test
    void followingNextVisitsEveryRowOnceInTheEndpointsOrder() throws Exception {
        String to = LocalDate.now().minusWeeks(3).toString();
        Map<String, String> cases = Map.of(
                "week_start_from=2000-01-03&limit=50", "week_start >= DATE '2000-01-03'",
                "origin_tag=cabinet&week_start_from=2000-01-03&limit=7", "origin_tag = 'cabinet' AND week_start >= DATE '2000-01-03'",
                "origin_tag=fleet&week_start_from=2000-01-03&week_start_to=" + to + "&limit=20",
                "origin_tag = 'fleet' AND week_start BETWEEN DATE '2000-01-03' AND DATE '" + to + "'");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            List<Long> walked = walk(c.getKey());
            List<Long> expected = new ArrayList<>();
            for (String id : Sql.strings(db, "SELECT driver_id FROM " + MV + " WHERE " + c.getValue() + " ORDER BY week_start DESC, driver_id")) {
                expected.add(Long.parseLong(id));
            }
            assertTrue(expected.size() > 60, "enough rows for several pages: " + expected.size());
            assertEquals(expected, walked, c.getKey());
        }
    }

    @Test
    void aCursorPageSeeksTheIndexInsteadOfCountingRowsFromTheTop() throws Exception {
        // the cursor of a row deep in the listing, then the page after it planned and run as the endpoint runs it
        String from = "2000-01-03";
        List<Map<String, Object>> deep = Sql.rows(db, "SELECT week_start::text AS w, driver_id::text AS d FROM " + MV
                + " WHERE week_start >= DATE '" + from + "' ORDER BY week_start DESC, driver_id OFFSET 1200 LIMIT 1");
        DriverMatrixQuery first = DriverMatrixQuery.parse(Map.of("week_start_from", List.of(from), "limit", List.of("20")), LocalDate.now());
        String cursor = first.cursorAfter(LocalDate.parse(deep.get(0).get("w").toString()), deep.get(0).get("d").toString());
        DriverMatrixQuery q = DriverMatrixQuery.parse(Map.of("week_start_from", List.of(from), "limit", List.of("20"), "after", List.of(cursor)),
                LocalDate.now());
        try (Connection c = db.open("keyset-test"); PreparedStatement ps = c.prepareStatement("EXPLAIN (ANALYZE, FORMAT JSON) " + DriverMatrixService.mvSql(q))) {
            q.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                JsonNode plan = JSON.readTree(rs.getString(1));
                long read = rowsReadFromTheMv(plan.get(0).get("Plan"));
                assertTrue(read <= 2 * 20 + 2, "rows read from the MV for a page of 20 after 1,200 rows: " + read + "\n" + plan.toPrettyString());
            }
        }
        HttpResponse<String> r = get(ApiServer.DRIVER_MATRIX_PATH + "?week_start_from=" + from + "&limit=20&after=" + cursor);
        assertEquals(200, r.statusCode(), r.body());
        List<String> expected = Sql.strings(db, "SELECT driver_id FROM " + MV + " WHERE week_start >= DATE '" + from
                + "' ORDER BY week_start DESC, driver_id OFFSET 1201 LIMIT 20");
        List<String> got = new ArrayList<>();
        JSON.readTree(r.body()).get("rows").forEach(row -> got.add(row.get("driver_id").asText()));
        assertEquals(expected, got, "the page after the cursor is the page at offset 1201");
    }

    private static long rowsReadFromTheMv(JsonNode node) {
        long n = 0;
        String type = node.path("Node Type").asText();
        if (type.contains("Scan") && MV.endsWith(node.path("Relation Name").asText("-"))) {
            n += node.path("Actual Rows").asLong() * Math.max(1, node.path("Actual Loops").asLong()) + node.path("Rows Removed by Filter").asLong();
        }
        for (JsonNode child : node.path("Plans")) {
            n += rowsReadFromTheMv(child);
        }
        return n;
    }

    @Test
    void aBadCursorIs400NamingAfter() throws Exception {
        HttpResponse<String> first = get(ApiServer.DRIVER_MATRIX_PATH + "?week_start_from=2000-01-03&limit=5");
        String next = JSON.readTree(first.body()).get("next").asText();
        assertNotNull(next);
        String tampered = next.substring(0, 3) + (next.charAt(3) == 'A' ? 'B' : 'A') + next.substring(4);
        Map<String, String> bad = Map.of(
                "garbage", "?week_start_from=2000-01-03&limit=5&after=not-a-cursor",
                "tampered", "?week_start_from=2000-01-03&limit=5&after=" + tampered,
                "other filters", "?week_start_from=2000-01-03&origin_tag=cabinet&limit=5&after=" + next,
                "with offset", "?week_start_from=2000-01-03&limit=5&offset=5&after=" + next);
        for (Map.Entry<String, String> b : bad.entrySet()) {
            HttpResponse<String> r = get(ApiServer.DRIVER_MATRIX_PATH + b.getValue());
            assertEquals(400, r.statusCode(), b.getKey() + ": " + r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("after", body.get("parameter").asText(), b.getKey() + ": " + r.body());
            assertTrue(body.get("error").asText().startsWith("after "), r.body());
        }
        // another limit with the same filters continues fine: the cursor is a position, not a page number
        assertEquals(200, get(ApiServer.DRIVER_MATRIX_PATH + "?week_start_from=2000-01-03&limit=9&after=" + next).statusCode());
    }
}
