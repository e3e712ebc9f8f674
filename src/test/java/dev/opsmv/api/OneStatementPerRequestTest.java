package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.embedded.EmbeddedServer;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: a driver-matrix request costs the database one statement. Counted by the server itself
 * (pg_stat_statements, which needs shared_preload_libraries: a server of this test's own), for the serving
 * database only, after one request has started the pool: settings, catalog lookups, freshness lookups,
 * BEGIN/COMMIT or driver-internal queries would all show up as calls.
 */
// "newest": pg_stat_statements is an extension whose views change with the major
@Tag("newest")
class OneStatementPerRequestTest {
    static final HttpClient HTTP = Http.CLIENT;

    @Test
    void aDriverMatrixRequestIsOneStatement() throws Exception {
        String version = System.getProperty("opsmv.pg.version", System.getenv().getOrDefault("OPSMV_PG_VERSION", ""));
        try (EmbeddedServer server = EmbeddedServer.start(version, null,
                Map.of("shared_preload_libraries", "pg_stat_statements", "pg_stat_statements.track_utility", "on"))) {
            server.createDatabase("opsmv_counted");
            ConnectionSpec db = server.spec("opsmv_counted");
            ConnectionSpec admin = server.spec("postgres");
            try (Connection c = db.open("opsmv-tests")) {
                SourceFixture fixture = new SourceFixture(c);
                fixture.createTables();
                fixture.generate(new SourceFixture.Spec(300, 17, 0, SourceFixture.Spec.currentWeek()), s -> { });
                Migrator.bundle(c, null).update();
            }
            Sql.exec(admin, "CREATE EXTENSION pg_stat_statements");
            String counted = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'opsmv_counted')";
            String texts = "SELECT query || ' x' || calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'opsmv_counted') ORDER BY query";
            try (ApiServer api = new ApiServer(db, ApiConfig.defaults().withPort(0).withoutCache())) {
                String base = "http://127.0.0.1:" + api.start();
                // HikariCP asks the first connection of a pool for its isolation level (SHOW TRANSACTION ISOLATION
                // LEVEL), once per pool: a cost of the start, not of a request; one request before counting.
                assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(base + ApiServer.DRIVER_MATRIX_PATH)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
                // A new pooled connection costs one SET (read-only, see ApiServer.dataSource): wait for the pool's
                // minimum before counting, so a connection opened in the background is not taken for a request's.
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (Sql.count(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsmv-serve'") < 2
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Sql.exec(admin, "SELECT pg_stat_statements_reset()");
                int requests = 20;
                for (int i = 0; i < requests; i++) {
                    String q = i % 2 == 0 ? "origin_tag=cabinet&limit=50" : "week_start_from=2000-01-01&limit=" + (i + 1);
                    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + ApiServer.DRIVER_MATRIX_PATH + "?" + q))
                            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals("materialized_view", r.headers().firstValue(ApiServer.SOURCE_HEADER).orElse(""));
                }
                long calls = Sql.count(admin, counted);
                List<String> seen = Sql.strings(admin, texts);
                System.out.println(requests + " driver-matrix requests → " + calls + " statements on the server: " + seen);
                assertEquals(requests, calls, "statements the server ran for " + requests + " requests: " + seen);
                assertEquals(2, seen.size(), "one statement text per query shape: " + seen);
            }
            // and every connection of serve's pool is read-only, although nothing is set per request
            try (com.zaxxer.hikari.HikariDataSource pool = ApiServer.dataSource(db, ApiConfig.defaults(), "opsmv-ro-check");
                    Connection c = pool.getConnection(); java.sql.Statement st = c.createStatement()) {
                java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                        () -> st.execute("CREATE TABLE public.opsmv_must_not_exist (x int)"));
                assertEquals("25006", e.getSQLState(), e.getMessage());
            }
        }
    }
}
