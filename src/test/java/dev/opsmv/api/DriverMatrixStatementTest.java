package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.health.HealthJson;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Plans;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.TestPostgres;

/**
 * The endpoint writes values from PostgreSQL's text form, mostly without parsing them (issue 17). Each value
 * here is written that way, through {@link ApiServer#dataSource}'s pool settings, and compared with what the
 * parsing path gives from the same value read as a Java object: numbers equal as decimals, dates and
 * timestamps equal as text, in a UTC session and in one at +05:30. And the statement itself is planned once
 * per connection (a generic plan), not per request.
 */
// "newest": the values' text form and the generic plan are the server's, on PostgreSQL 18 too
@Tag("newest")
class DriverMatrixStatementTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String VALUES = "SELECT * FROM (VALUES "
            + "(0::numeric(14,2), 0::int, 0::bigint, DATE '2026-10-05', TIMESTAMPTZ '2026-10-05 10:00:00+00', TIMESTAMP '2026-10-05 10:00:00', true), "
            + "(-0.50, -2147483648, 9223372036854775807, DATE '0044-03-15 BC', TIMESTAMPTZ '2026-10-05 10:00:00.5+00', TIMESTAMP '2026-10-05 10:00:07.25', false), "
            + "(12345678901234.56, 7, -1, DATE 'infinity', TIMESTAMPTZ '2026-10-05 23:59:59.123456+03', TIMESTAMP '2026-10-05 00:00:00.000001', NULL), "
            + "(NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
            + "(0.00000001, 1, 1, DATE '9999-12-31', TIMESTAMPTZ '1999-01-01 00:00:00.12+00', TIMESTAMP '1999-01-01 00:00:00.1', true)"
            + ") v(n, i, b, d, tz, ts, bool)";

    @Test
    void textValuesAreWrittenAsTheParsedOnesWouldBe() throws Exception {
        for (String zone : List.of("UTC", "Asia/Kolkata")) {
            ConnectionSpec spec = TestPostgres.admin();
            try (Connection c = textConnection(spec, zone); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery(VALUES)) {
                ResultSetMetaData md = rs.getMetaData();
                int row = 0;
                while (rs.next()) {
                    row++;
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        String written = write(md.getColumnType(i), rs, i);
                        String expected = expected(md.getColumnLabel(i), rs, i);
                        if (md.getColumnLabel(i).equals("n") && expected != null && !written.equals("null")) {
                            // numbers: the same decimal (BigDecimal may print an exponent where PostgreSQL does not)
                            assertEquals(0, new BigDecimal(expected).compareTo(JSON.readTree(written).decimalValue()),
                                    zone + " row " + row + " column n: " + written);
                        } else {
                            assertEquals(expected == null ? "null" : expected, written.startsWith("\"") ? JSON.readTree(written).asText() : written,
                                    zone + " row " + row + " column " + md.getColumnLabel(i));
                        }
                    }
                }
                assertEquals(5, row);
            }
        }
    }

    @Test
    void theEndpointsStatementRunsOnOneGenericPlanPerConnection() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        DriverMatrixQuery q = DriverMatrixQuery.parse(Map.of("origin_tag", List.of("cabinet"), "limit", List.of("5")), LocalDate.now());
        try (Connection c = textConnection(db, "UTC"); PreparedStatement ps = c.prepareStatement(DriverMatrixService.mvSql(q))) {
            for (int i = 0; i < 7; i++) {
                q.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT current_setting('plan_cache_mode'), generic_plans, custom_plans FROM pg_prepared_statements "
                            + "WHERE statement LIKE '%opsmv_last_ok%' AND statement NOT LIKE '%pg_prepared_statements%'")) {
                assertTrue(rs.next(), "the endpoint's statement is prepared server-side");
                assertEquals("force_generic_plan", rs.getString(1));
                assertEquals(7, rs.getLong(2), "generic plans");
                assertEquals(0, rs.getLong(3), "custom plans (one per request when plan_cache_mode is auto)");
            }
        }
    }

    @Test
    void anEmptyPageStillSaysHowFreshTheMvIsAndAFullOneKeepsItsOrder() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        long lastOkMicros = ((Number) Sql.value(db, "SELECT (extract(epoch FROM max(refresh_finished_at)) * 1000000)::bigint "
                + "FROM ops.mv_refresh_log WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'")).longValue();
        try (var pool = ApiServer.dataSource(db, ApiConfig.defaults(), "opsmv-test")) {
            DriverMatrixService service = new DriverMatrixService(pool, ApiConfig.defaults());
            DriverMatrixService.Result empty = service.query(DriverMatrixQuery.parse(Map.of("week_start_from", List.of("2999-01-06")), LocalDate.now()));
            JsonNode body = json(empty);
            assertEquals(0, empty.rows());
            assertEquals(0, body.get("count").asInt());
            assertEquals(0, body.get("rows").size());
            assertEquals("materialized_view", body.get("source").asText());
            java.time.Instant served = OffsetDateTime.parse(body.get("mv_last_ok_refresh_at").asText()).toInstant();
            assertEquals(lastOkMicros, served.getEpochSecond() * 1_000_000 + served.getNano() / 1000, "an empty page has the MV's last OK refresh too");
            assertFalse(body.get("in_recovery").asBoolean());

            // every row of the MV in one page: the head row does not surface as a row, and the order is the page's
            DriverMatrixService.Result all = service.query(DriverMatrixQuery.parse(Map.of("week_start_from", List.of("2000-01-03"),
                    "limit", List.of("1000")), LocalDate.now()));
            JsonNode rows = json(all).get("rows");
            List<String> expected = Sql.strings(db, "SELECT driver_id FROM " + DriverMatrixQuery.MV + " ORDER BY " + DriverMatrixQuery.ORDER_BY + " LIMIT 1000");
            List<String> page = new ArrayList<>();
            rows.forEach(r -> page.add(r.get("driver_id").asText()));
            assertEquals(expected, page);
            assertEquals(expected.size(), all.rows());
        }
    }

    /** The body the service wrote, parsed. */
    private static JsonNode json(DriverMatrixService.Result r) throws Exception {
        return JSON.readTree(r.body(), 0, r.length());
    }

    @Test
    void theFreshnessLookupReadsOneRunNotTheWholeRefreshLog() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        // a year of hourly refreshes of seven MVs, one run in ten failed; the newest OK run of the driver matrix is the deployment's
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, status, method) "
                + "SELECT 'ops', (ARRAY['mv_payments_driver_matrix_cabinet', 'mv_a', 'mv_b', 'mv_c', 'mv_d', 'mv_e', 'mv_f'])[1 + g % 7], "
                + "now() - interval '1 day' - g * interval '1 minute', now() - interval '1 day' - g * interval '1 minute' + interval '5 s', "
                + "CASE WHEN g % 10 = 0 THEN 'ERROR' ELSE 'OK' END, 'CONCURRENTLY' FROM generate_series(1, 60000) g");
        Sql.exec(db, "VACUUM ANALYZE ops.mv_refresh_log");
        DriverMatrixQuery q = DriverMatrixQuery.parse(Map.of("limit", List.of("5")), LocalDate.now());
        try (Connection c = textConnection(db, "UTC")) {
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN (ANALYZE, FORMAT JSON) " + DriverMatrixService.mvSql(q))) {
                q.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    long read = Plans.rowsRead(JSON.readTree(rs.getString(1)).get(0).get("Plan"), "mv_refresh_log");
                    assertTrue(read > 0 && read <= 20, "rows of ops.mv_refresh_log read for the freshness: " + read + "\n" + rs.getString(1));
                }
            }
            try (PreparedStatement ps = c.prepareStatement(DriverMatrixService.mvSql(q)); Statement st = c.createStatement()) {
                q.bind(ps);
                try (ResultSet page = ps.executeQuery(); ResultSet max = st.executeQuery("SELECT max(refresh_finished_at) FROM ops.mv_refresh_log "
                        + "WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'")) {
                    assertTrue(page.next() && max.next());
                    assertEquals(max.getObject(1, OffsetDateTime.class), page.getObject(1, OffsetDateTime.class), "the last OK refresh");
                }
            }
        }
    }

    @Test
    void numericNaNAndInfinityAreStringsNotInvalidJson() throws Exception {
        try (Connection c = textConnection(TestPostgres.admin(), "UTC"); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT 'NaN'::numeric, 'Infinity'::float8::numeric, '-Infinity'::float8::numeric")) {
            assertTrue(rs.next());
            List<String> out = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                JsonNode node = JSON.readTree(write(rs.getMetaData().getColumnType(i), rs, i));
                assertTrue(node.isTextual());
                out.add(node.asText());
            }
            assertEquals(List.of("NaN", "Infinity", "-Infinity"), out);
        }
    }

    @Test
    void theShapeChecksRejectWhatTheyMustParse() {
        assertTrue(DriverMatrixService.isJsonNumber("-12.50"));
        assertFalse(DriverMatrixService.isJsonNumber("1e5"));
        assertFalse(DriverMatrixService.isJsonNumber("NaN"));
        assertFalse(DriverMatrixService.isJsonNumber("-"));
        assertFalse(DriverMatrixService.isJsonNumber("5."));
        assertTrue(DriverMatrixService.isPlainUtcTimestamp("2026-10-05 10:00:00+00"));
        assertTrue(DriverMatrixService.isPlainUtcTimestamp("2026-10-05 10:00:00.123456+00"));
        assertFalse(DriverMatrixService.isPlainUtcTimestamp("2026-10-05 10:00:00+03"));
        assertFalse(DriverMatrixService.isPlainUtcTimestamp("2026-10-05 10:00:00.50+00"));
        assertFalse(DriverMatrixService.isPlainUtcTimestamp("12026-10-05 10:00:00+00"));
        assertFalse(DriverMatrixService.isPlainUtcTimestamp("2026-10-05 10:00:00+00 BC"));
        assertFalse(DriverMatrixService.isPlainDate("0044-03-15 BC"));
    }

    /** A connection with the endpoint's pool settings (text transfer), its session in {@code zone}. */
    private static Connection textConnection(ConnectionSpec spec, String zone) throws Exception {
        try (var pool = ApiServer.dataSource(spec, ApiConfig.defaults(), "opsmv-values-probe")) {
            Properties props = new Properties();
            props.putAll(pool.getDataSourceProperties());
            Connection c = java.sql.DriverManager.getConnection(spec.jdbcUrl(), props);
            try (Statement st = c.createStatement()) {
                st.execute("SET TIME ZONE '" + zone + "'");
            }
            return c;
        }
    }

    private static String write(int type, ResultSet rs, int i) throws Exception {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            DriverMatrixService.value(g, type, rs, i);
        }
        return out.toString();
    }

    /** What the parsing path (java.time and BigDecimal objects) gives for the value. */
    private static String expected(String column, ResultSet rs, int i) throws Exception {
        if (rs.getString(i) == null) {
            return null;
        }
        return switch (column) {
            case "n" -> rs.getBigDecimal(i).toPlainString();
            case "i", "b" -> String.valueOf(rs.getLong(i));
            case "d" -> rs.getObject(i, LocalDate.class).toString();
            case "tz" -> HealthJson.time(rs.getObject(i, OffsetDateTime.class));
            case "ts" -> rs.getTimestamp(i).toLocalDateTime().toString();
            case "bool" -> String.valueOf(rs.getBoolean(i));
            default -> throw new IllegalArgumentException(column);
        };
    }

    /**
     * Issue 27: the freshness lookup of every request reads the OK-only index of release v1.4, as the health views
     * do, not backwards through every non-OK row since the last OK one (30,000 BUSY rows after it: 0.09 → 10 ms).
     */
    @Test
    void theFreshnessLookupReadsTheOkIndexWhateverFollowsTheLastOkRow() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(100, Deployed.SHARED_SEED);
        Object lastOk = Sql.value(db, "SELECT max(refresh_finished_at) FROM ops.mv_refresh_log "
                + "WHERE mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'");
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, status, refresh_started_at, refresh_finished_at, error_message) "
                + "SELECT 'ops', 'mv_payments_driver_matrix_cabinet', 'BUSY', now() + g * interval '1 second', now() + g * interval '1 second', "
                + "'another runner held it' FROM generate_series(1, 30000) g",
                "ANALYZE ops.mv_refresh_log");
        DriverMatrixQuery q = DriverMatrixQuery.parse(Map.of("limit", List.of("5")), LocalDate.now());
        String sql = DriverMatrixService.mvSql(q).replace("?", "'2000-01-01'::date").replace("LIMIT '2000-01-01'::date", "LIMIT 5")
                .replace("OFFSET '2000-01-01'::date", "OFFSET 0");
        JsonNode plan;
        try (Connection c = db.open("opsmv-tests"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)) {
            rs.next();
            plan = JSON.readTree(rs.getString(1)).get(0).get("Plan");
        }
        assertTrue(plan.toString().contains("idx_mv_refresh_log_mv_ok_finished"), plan.toString());
        assertTrue(Plans.rowsRead(plan, "mv_refresh_log") < 100, "the BUSY rows are not read: " + plan);
        try (Connection c = db.open("opsmv-tests"); PreparedStatement ps = c.prepareStatement(DriverMatrixService.mvSql(q))) {
            q.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(((java.sql.Timestamp) lastOk).toInstant(), rs.getObject(1, OffsetDateTime.class).toInstant());
            }
        }
    }
}
