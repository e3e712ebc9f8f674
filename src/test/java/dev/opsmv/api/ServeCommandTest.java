package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.ServeProcess;

/** `opsmv serve` as a real process: listens, answers, and stops on SIGTERM. */
class ServeCommandTest {
    @Test
    void servesUntilSigterm() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        ServeProcess serve = ServeProcess.start(ServeProcess.runner(db), "--port", "0");
        Process p = serve.process();
        try {
            String line = serve.firstLine();
            assertTrue(line != null && line.startsWith("opsmv serve: listening on http://127.0.0.1:"), String.valueOf(line));
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + serve.port() + "/api/v1/ops/payments/driver-matrix?limit=3"))
                            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"source\":\"materialized_view\""), r.body());
        } finally {
            // SIGTERM through the handle: Process.destroy() would also close our end of stdout and stderr
            p.toHandle().destroy(); // serve stops accepting, answers what is in flight, closes the pool
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
        }
        String err = serve.stderr(20);
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
