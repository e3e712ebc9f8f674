package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.PromText;
import dev.opsmv.testing.ServeProcess;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Test;

/** Issue 12, "serve as a platform expects it": environment, probes, graceful SIGTERM, access log, build info. */
class ServePlatformTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;
    static final String MV = "ops.mv_payments_driver_matrix_cabinet";

    @Test
    void probesAreSeparateFromHealth() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        try (ApiServer s = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String b = "http://127.0.0.1:" + s.start();
            assertEquals(200, get(b + "/livez").statusCode());
            HttpResponse<String> ready = get(b + "/readyz");
            assertEquals(200, ready.statusCode(), ready.body());
            assertEquals("materialized_view", JSON.readTree(ready.body()).get("source").asText());
            Sql.exec(db, "REFRESH MATERIALIZED VIEW " + MV + " WITH NO DATA");
            // an unpopulated MV is CRIT for /health, but the pod still serves (from the view): ready, not restarted
            assertEquals(503, get(b + "/health").statusCode());
            HttpResponse<String> fallback = get(b + "/readyz");
            assertEquals(200, fallback.statusCode(), fallback.body());
            JsonNode body = JSON.readTree(fallback.body());
            assertEquals("view", body.get("source").asText());
            assertTrue(body.get("fallback_reason").asText().contains("not populated"), body.toString());
            assertEquals(200, get(b + "/livez").statusCode());

            PromText.Parsed m = PromText.parse(get(b + "/metrics").body());
            String java = System.getProperty("java.version");
            String lb = liquibase.util.LiquibaseUtil.getBuildVersion();
            assertEquals(1.0, m.value("opsmv_build_info", Map.of("version", "dev", "liquibase", lb, "java", java)));
        }
        ConnectionSpec dead = ConnectionSpec.of("127.0.0.1", Cli.deadPort(), "nope", "postgres", null);
        try (ApiServer s = new ApiServer(dead, ApiConfig.defaults().withPort(0).withConnectionTimeoutMs(500))) {
            String b = "http://127.0.0.1:" + s.start();
            assertEquals(200, get(b + "/livez").statusCode());
            HttpResponse<String> ready = get(b + "/readyz");
            assertEquals(503, ready.statusCode(), ready.body());
            assertTrue(JSON.readTree(ready.body()).get("error").asText().startsWith("database unavailable"), ready.body());
        }
    }

    @Test
    void optionsComeFromTheEnvironmentAndFlagsWin() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        int envPort;
        try (ServerSocket free = new ServerSocket(0)) {
            envPort = free.getLocalPort();
        }
        OpsmvProcess runner = runner(db).env("OPSMV_PORT", Integer.toString(envPort)).env("OPSMV_POOL_SIZE", "3")
                .env("OPSMV_STATEMENT_TIMEOUT", "7s").env("OPSMV_LOCK_TIMEOUT", "300ms").env("OPSMV_ACCESS_LOG", "true");
        ServeProcess serve = ServeProcess.start(runner, "--pool-size", "4");
        Process p = serve.process();
        BufferedReader out = serve.stdout();
        try {
            String line = serve.firstLine();
            assertTrue(line != null && line.startsWith("opsmv serve: listening on http://127.0.0.1:" + envPort + " "), String.valueOf(line));
            HttpResponse<String> r = get("http://127.0.0.1:" + envPort + ApiServer.DRIVER_MATRIX_PATH + "?limit=2");
            assertEquals(200, r.statusCode(), r.body());
            String access = out.readLine();
            assertTrue(access != null && access.matches("access time=\\S+ method=GET path=" + Pattern.quote(ApiServer.DRIVER_MATRIX_PATH)
                    + " status=200 source=materialized_view ms=\\d+\\.\\d\\d"), String.valueOf(access));
        } finally {
            p.toHandle().destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
        String log = serve.stderr(10);
        assertTrue(log.contains("pool 4, statement timeout 7000 ms, lock timeout 300 ms, access log on"), log);
        assertEquals(0, p.exitValue(), log);

        // A bad value from the environment is a usage error naming the option.
        OpsmvProcess.Result bad = runner(db).env("OPSMV_PORT", "eighty").run(60, "serve");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.stderr().contains("--port") && bad.stderr().contains("eighty"), bad.stderr());
    }

    @Test
    void sigtermFinishesTheRequestsInFlightThenExitsZero() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        // A long lock timeout: requests wait for the test's lock on the MV instead of falling back to the view.
        ServeProcess serve = ServeProcess.start(runner(db).env("OPSMV_LOCK_TIMEOUT", "60s"), "--port", "0", "--shutdown-grace", "30s");
        Process p = serve.process();
        int port = serve.port();
        String url = "http://127.0.0.1:" + port + ApiServer.DRIVER_MATRIX_PATH + "?origin_tag=cabinet&limit=5";
        assertEquals(200, get(url).statusCode());
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        try (Connection locker = db.open("opsmv-tests-locker"); Statement st = locker.createStatement()) {
            locker.setAutoCommit(false);
            st.execute("REFRESH MATERIALIZED VIEW " + MV); // ACCESS EXCLUSIVE until rollback
            // another page than the one answered above: that one is in the response cache and needs no statement
            String uncached = url.replace("limit=5", "limit=6");
            for (int i = 0; i < 3; i++) {
                inFlight.add(HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(URI.create(uncached)).timeout(Duration.ofSeconds(60)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            long waiting = 0;
            for (int i = 0; i < 200 && waiting < 3; i++) {
                Thread.sleep(50);
                waiting = Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsmv-serve' AND wait_event_type = 'Lock'");
            }
            assertEquals(3, waiting, "requests blocked on the MV's lock");
            p.toHandle().destroy(); // SIGTERM
            long stopped = System.nanoTime();
            boolean refused = false;
            for (int i = 0; i < 100 && !refused; i++) {
                Thread.sleep(50);
                try (Socket s = new Socket("127.0.0.1", port)) {
                    // still accepting
                } catch (ConnectException e) {
                    refused = true;
                }
            }
            assertTrue(refused, "the listener is still open after SIGTERM");
            assertTrue(p.isAlive(), "serve exited with requests in flight");
            System.out.printf("listener closed %.0f ms after SIGTERM; releasing the lock%n", (System.nanoTime() - stopped) / 1e6);
            locker.rollback();
        }
        for (CompletableFuture<HttpResponse<String>> f : inFlight) {
            HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("materialized_view", r.headers().firstValue(ApiServer.SOURCE_HEADER).orElse(""));
            assertTrue(JSON.readTree(r.body()).get("count").asInt() > 0, r.body());
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve did not exit after the requests in flight");
        String log = serve.stderr(10);
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("SIGTERM: stopped accepting; every request in flight answered; exiting 0"), log);
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    }

    static OpsmvProcess runner(ConnectionSpec db) {
        return ServeProcess.runner(db);
    }

    static HttpResponse<String> get(String url) throws Exception {
        return Http.get(url);
    }
}
