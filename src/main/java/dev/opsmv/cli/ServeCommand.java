package dev.opsmv.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.db.Durations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serves GET /api/v1/ops/payments/driver-matrix, /health, /livez, /readyz and /metrics until SIGTERM or Ctrl-C, "
                + "which stop accepting connections, answer the requests in flight (at most --shutdown-grace) and exit 0. "
                + "Every option can also come from the environment variable named beside it; a flag wins. "
                + "Exit 2 bad option, 3 cannot listen. "
                + "Several servers (a physical standby serves the same MVs, as replayed): repeat --url, or give a multi-host URL "
                + "(postgres://h1:5432,h2:5432/db?target_session_attrs=prefer-standby); standbys are used first, the primary "
                + "when no standby answers; /health, /metrics and each answer report the replay lag (docs/REPLICAS.md).")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--port", defaultValue = "${env:OPSMV_PORT:-" + ApiConfig.DEFAULT_PORT + "}",
            description = "Port; 0 = any free port (env OPSMV_PORT; default " + ApiConfig.DEFAULT_PORT + ").")
    int port;

    @Option(names = "--bind", defaultValue = "${env:OPSMV_BIND:-" + ApiConfig.DEFAULT_BIND + "}",
            description = "Address to listen on (env OPSMV_BIND; default " + ApiConfig.DEFAULT_BIND + ").")
    String bind;

    @Option(names = "--statement-timeout", paramLabel = "D",
            defaultValue = "${env:OPSMV_STATEMENT_TIMEOUT:-" + ApiConfig.DEFAULT_STATEMENT_TIMEOUT_MS + "ms}",
            description = "Bound on every statement, e.g. 5s: a slower query answers 503 (env OPSMV_STATEMENT_TIMEOUT; default "
                    + ApiConfig.DEFAULT_STATEMENT_TIMEOUT_MS + "ms).")
    Duration statementTimeout;

    @Option(names = "--lock-timeout", paramLabel = "D",
            defaultValue = "${env:OPSMV_LOCK_TIMEOUT:-" + ApiConfig.DEFAULT_LOCK_TIMEOUT_MS + "ms}",
            description = "How long a request waits for the MV's lock during a plain refresh before it falls back to the plain view "
                    + "(env OPSMV_LOCK_TIMEOUT; default " + ApiConfig.DEFAULT_LOCK_TIMEOUT_MS + "ms).")
    Duration lockTimeout;

    // The spellings of release 1.0, kept so that existing unit files and scripts go on working: the same
    // Duration fields as --statement-timeout and --lock-timeout, through the same grammar ("200" reads as 200ms)
    @Option(names = "--statement-timeout-ms", paramLabel = "MS", hidden = true)
    void statementTimeoutMs(String ms) {
        statementTimeout = legacyMillis("--statement-timeout-ms", ms);
    }

    @Option(names = "--lock-timeout-ms", paramLabel = "MS", hidden = true)
    void lockTimeoutMs(String ms) {
        lockTimeout = legacyMillis("--lock-timeout-ms", ms);
    }

    private Duration legacyMillis(String option, String ms) {
        try {
            return Durations.parse(ms.trim() + "ms");
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
    }

    @Option(names = "--pool-size", paramLabel = "N", defaultValue = "${env:OPSMV_POOL_SIZE:-" + ApiConfig.DEFAULT_POOL_SIZE + "}",
            description = "Database connections (env OPSMV_POOL_SIZE; default " + ApiConfig.DEFAULT_POOL_SIZE + ").")
    int poolSize;

    @Option(names = "--connection-timeout", paramLabel = "D",
            defaultValue = "${env:OPSMV_CONNECTION_TIMEOUT:-" + ApiConfig.DEFAULT_CONNECTION_TIMEOUT_MS + "ms}",
            description = "How long a request waits for a pooled connection before it answers 503, at least 250ms "
                    + "(env OPSMV_CONNECTION_TIMEOUT; default " + ApiConfig.DEFAULT_CONNECTION_TIMEOUT_MS + "ms).")
    Duration connectionTimeout;

    @Option(names = "--shutdown-grace", paramLabel = "D",
            defaultValue = "${env:OPSMV_SHUTDOWN_GRACE:-10s}",
            description = "On SIGTERM, how long the requests in flight may take to finish (env OPSMV_SHUTDOWN_GRACE; default 10s).")
    Duration shutdownGrace;

    @Option(names = "--access-log", negatable = true, defaultValue = "${env:OPSMV_ACCESS_LOG:-false}", fallbackValue = "true",
            description = "One line per request on stdout: method, path, status, source, ms; written asynchronously "
                    + "(env OPSMV_ACCESS_LOG=true|false; default off).")
    boolean accessLog;

    @Option(names = "--cache", negatable = true, defaultValue = "${env:OPSMV_CACHE:-true}", fallbackValue = "true",
            description = "Keep driver-matrix answers until the MV is next refreshed: each request first waits for a check of the MV "
                    + "(its identity and last OK refresh; one small query shared by the requests that arrive together), so no answer is "
                    + "older than the MV; --no-cache reads the database for every request (env OPSMV_CACHE=true|false; default on).")
    boolean cacheOn;

    @Option(names = "--cache-entries", paramLabel = "N", defaultValue = "${env:OPSMV_CACHE_ENTRIES:-" + ApiConfig.Cache.DEFAULT_ENTRIES + "}",
            description = "Answers the cache keeps at most, least recently used out first (env OPSMV_CACHE_ENTRIES; default "
                    + ApiConfig.Cache.DEFAULT_ENTRIES + ").")
    int cacheEntries;

    @Option(names = "--cache-size", paramLabel = "SIZE", converter = SizeConverter.class, defaultValue = "${env:OPSMV_CACHE_SIZE:-64MB}",
            description = "Memory the cached answers may hold, e.g. 64MB (env OPSMV_CACHE_SIZE; default 64MB).")
    long cacheSize;

    @Option(names = "--cache-check", paramLabel = "D",
            defaultValue = "${env:OPSMV_CACHE_CHECK:-" + ApiConfig.Cache.DEFAULT_CHECK_MS + "ms}",
            description = "On a standby, and where the refresh-tracking event trigger is missing, answers are also dropped this often: "
                    + "a standby's carry the replay lag, and a psql REFRESH ... CONCURRENTLY with no trigger leaves no trace; idle, "
                    + "the watch checks this often too (env OPSMV_CACHE_CHECK; default "
                    + ApiConfig.Cache.DEFAULT_CHECK_MS + "ms).")
    Duration cacheCheck;

    @Option(names = "--cache-staleness", paramLabel = "D", converter = ZeroOrDurationConverter.class,
            defaultValue = "${env:OPSMV_CACHE_STALENESS:-0ms}",
            description = "0 (default): each request waits for a check of the MV that began after it arrived, so no answer is older than "
                    + "the MV. More (at most --cache-check): a check that began at most D before the request will do; under load most "
                    + "answers then wait for nothing, and may miss a refresh committed less than D before (env OPSMV_CACHE_STALENESS).")
    Duration cacheStaleness;

    @Option(names = "--max-age", paramLabel = "D", converter = ZeroOrDurationConverter.class,
            defaultValue = "${env:OPSMV_MAX_AGE:-" + ApiConfig.Cache.DEFAULT_MAX_AGE_SECONDS + "s}",
            description = "Longest Cache-Control max-age of a driver-matrix page, never past the MV's WARN threshold after its last "
                    + "refresh; 0 = no-cache (env OPSMV_MAX_AGE; default " + ApiConfig.Cache.DEFAULT_MAX_AGE_SECONDS + "s).")
    Duration maxAge;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ApiConfig config;
        try {
            config = new ApiConfig(bind, port,
                    Durations.millis(statementTimeout), Durations.millis(lockTimeout),
                    poolSize, Durations.millis(connectionTimeout), accessLog,
                    new ApiConfig.Cache(cacheOn, cacheEntries, cacheSize, Durations.millis(cacheCheck), (int) maxAge.toSeconds(),
                            Durations.millis(cacheStaleness)));
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage()
                    + " (flags win over the OPSMV_* environment variables)");
        }
        if (shutdownGrace.isNegative()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--shutdown-grace must not be negative (got " + shutdownGrace + ")");
        }
        ApiServer server = new ApiServer(connection.readSpec(), config);
        int bound;
        try {
            bound = server.start();
        } catch (java.io.IOException e) {
            server.close();
            throw new CommandFailure(ExitCode.DATABASE, "cannot listen on " + bind + ":" + port + ": " + e.getMessage());
        }
        // SIGTERM and Ctrl-C are handled here rather than by a shutdown hook: a hook runs while the JVM is
        // already exiting with 128 + signal, while a platform reads 0 as "stopped as asked".
        CountDownLatch stop = new CountDownLatch(1);
        AtomicReference<String> signal = new AtomicReference<>();
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), s -> {
                signal.compareAndSet(null, "SIG" + s.getName());
                stop.countDown();
            });
        }
        out.println("opsmv serve: listening on http://" + bind + ":" + bound
                + " (driver matrix at /api/v1/ops/payments/driver-matrix, /health, /livez, /readyz, /metrics); Ctrl-C to stop");
        out.flush();
        stop.await();
        int unfinished = server.shutdown(shutdownGrace);
        System.err.println("opsmv serve: " + signal.get() + ": stopped accepting; "
                + (unfinished == 0 ? "every request in flight answered" : unfinished + " request(s) cut off after the grace of " + shutdownGrace.toMillis() + " ms")
                + "; exiting 0");
        return ExitCode.OK;
    }
}
