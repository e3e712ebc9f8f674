package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.Roles;
import dev.opsmv.testing.ServeProcess;
import org.junit.jupiter.api.Test;

/**
 * Issue 28 item 2: `serve` and `health` as a login granted only opsmv_reader (changelog/optional/reader-role.yaml),
 * which can read what they read and nothing else; a login short of a grant reads the grant to add.
 */
class ReaderRoleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;

    static HttpResponse<String> get(String url) throws Exception {
        return Http.get(url);
    }

    static String sqlState(ConnectionSpec as, String sql) {
        try (Connection c = as.open("reader-test"); Statement st = c.createStatement()) {
            st.execute(sql);
            return "ran";
        } catch (SQLException e) {
            return e.getSQLState();
        }
    }

    @Test
    void serveAndHealthWorkAsAReaderThatCanChangeNothing() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        Roles.apply(db, Changelog.READER_ROLE);
        ConnectionSpec reader = Roles.login(db, "reader", "opsmv_reader");

        try (ApiServer server = new ApiServer(reader, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            HttpResponse<String> page = get(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5");
            assertEquals(200, page.statusCode(), page.body());
            assertEquals("materialized_view", JSON.readTree(page.body()).get("source").asText());
            assertEquals(200, get(base + "/readyz").statusCode());
            HttpResponse<String> health = get(base + "/health");
            assertEquals(200, health.statusCode(), health.body());
            JsonNode cache = JSON.readTree(health.body()).get("response_cache");
            for (int i = 0; i < 200 && !cache.get("usable").asBoolean(); i++) {
                Thread.sleep(20);
                cache = JSON.readTree(get(base + "/health").body()).get("response_cache");
            }
            assertTrue(cache.get("usable").asBoolean(), "the cache's check runs as the reader: " + cache);
            get(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5"); // kept now that the cache answers
            assertEquals("hit", get(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5").headers().firstValue(ApiServer.CACHE_HEADER).orElse(""));
            String metrics = get(base + "/metrics").body();
            assertTrue(metrics.contains("opsmv_mv_age_seconds") || metrics.contains("opsmv_mv_"), metrics.substring(0, Math.min(400, metrics.length())));
        }
        Cli.Result health = Cli.on(reader, "health", "--format", "json");
        assertEquals(0, health.exitCode(), health.toString());

        // and nothing else: the sources, a write, a refresh, DDL
        for (String sql : List.of("SELECT count(*) FROM public.drivers", "DELETE FROM ops.mv_refresh_log",
                "INSERT INTO ops.mv_refresh_policy (mv_name, warn_after_hours, crit_after_hours) VALUES ('x', 1, 2)",
                "UPDATE ops.mv_refresh_policy SET warn_after_hours = 1", "TRUNCATE ops.mv_refresh_log",
                "REFRESH MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet", "DROP MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet",
                "CREATE TABLE ops.reader_was_here (id int)", "SELECT ops.opsmv_prune_batch('ops', 'mv_payments_driver_matrix_cabinet', 10)")) {
            assertEquals("42501", sqlState(reader, sql), sql);
        }
    }

    @Test
    void aLoginShortOfAGrantReadsTheGrantToAdd() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        // what was found in production: SELECT on the MV and its view, not on the refresh log
        ConnectionSpec shortOne = Roles.login(db, "short", "USAGE ON SCHEMA ops",
                "SELECT ON ops.mv_payments_driver_matrix_cabinet, ops.v_payments_driver_matrix_cabinet");
        String login = shortOne.user();
        String grant = "GRANT SELECT ON ops.mv_refresh_log TO " + login;
        try (ApiServer server = new ApiServer(shortOne, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            HttpResponse<String> page = get(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5");
            assertEquals(500, page.statusCode(), page.body());
            String error = JSON.readTree(page.body()).get("error").asText();
            assertTrue(error.startsWith("permission denied for ") && error.contains(grant) && error.contains("opsmv_reader"), error);
            HttpResponse<String> ready = get(base + "/readyz");
            assertEquals(503, ready.statusCode());
            assertTrue(JSON.readTree(ready.body()).get("error").asText().contains(grant), ready.body());
        }
        Cli.Result health = Cli.on(shortOne, "health");
        assertTrue(health.exitCode() != 0, health.toString());
        assertTrue(health.all().contains("GRANT SELECT ON ops."), "health names the grant: " + health.all());
    }

    @Test
    void serveWarnsOnceWhenItsLoginIsASuperuser() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(100, Deployed.SHARED_SEED);
        ServeProcess serve = ServeProcess.start(ServeProcess.runner(db), "--port", "0");
        Process p = serve.process();
        try {
            assertTrue(serve.firstLine().startsWith("opsmv serve: listening"), serve.firstLine());
            get("http://127.0.0.1:" + serve.port() + "/livez"); // the check ran at start, before listening
        } finally {
            p.toHandle().destroy();
            p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        String err = serve.stderr(10);
        assertEquals(1, err.split("is a superuser", -1).length - 1, err);
        assertTrue(err.contains("opsmv_reader"), err);
    }
}
