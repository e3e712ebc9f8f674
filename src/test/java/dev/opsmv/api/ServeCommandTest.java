package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;

/** `opsmv serve` as a real process: listens, answers, and stops on SIGTERM. */
class ServeCommandTest {
    @Test
    void servesUntilSigterm() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        OpsmvProcess runner = OpsmvProcess.classpath()
                .env("PGHOST", db.host()).env("PGPORT", Integer.toString(db.port()))
                .env("PGDATABASE", db.database()).env("PGUSER", db.user());
        if (db.hasPassword()) {
            runner.env("PGPASSWORD", db.passwordForChildEnvironment());
        }
        Process p = runner.start("serve", "--port", "0");
        java.util.concurrent.CompletableFuture<String> stderr = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return "(stderr unreadable: " + e + ")";
            }
        });
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("opsmv serve: listening on http://127.0.0.1:"), String.valueOf(line));
            Matcher m = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)").matcher(line);
            assertTrue(m.find());
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.group(1) + "/api/v1/ops/payments/driver-matrix?limit=3"))
                            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"source\":\"materialized_view\""), r.body());
        } finally {
            // SIGTERM through the handle: Process.destroy() would also close our end of stdout and stderr
            p.toHandle().destroy(); // serve stops accepting, answers what is in flight, closes the pool
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
        }
        String err = stderr.get(20, TimeUnit.SECONDS);
        assertTrue(err.contains("using materialized view"), err);
        // What README and serve --help document: a stop asked for by SIGTERM is a clean stop (issue 12).
        assertEquals(0, p.exitValue(), "exit " + p.exitValue() + "\n" + err);
    }

    @Test
    void aPortInUseIsExit3NamingIt() throws Exception {
        ConnectionSpec db = ConnectionSpec.of("127.0.0.1", dev.opsmv.testing.Cli.deadPort(), "nope", "postgres", null);
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            OpsmvProcess.Result r = OpsmvProcess.classpath().env("PGHOST", db.host()).env("PGPORT", Integer.toString(db.port()))
                    .env("PGDATABASE", db.database()).env("PGUSER", db.user()).run(60, "serve", "--port", Integer.toString(port));
            assertEquals(3, r.exitCode(), r.toString());
            assertTrue(r.stderr().contains("cannot listen on 127.0.0.1:" + port + ": Address already in use"), r.stderr());
            assertEquals(1, r.stderr().strip().lines().filter(l -> l.contains("cannot listen")).count(), r.stderr());
            assertTrue(!r.stderr().contains("\tat "), "no stack trace: " + r.stderr());
        }
    }
}
