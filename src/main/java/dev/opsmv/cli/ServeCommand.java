package dev.opsmv.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.db.Durations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serves GET /api/v1/ops/payments/driver-matrix, /health and /metrics until SIGTERM or Ctrl-C, "
                + "which close the listener and the pool; the exit status is then the signal's (143 for SIGTERM, 130 for Ctrl-C). "
                + "Exit 2 bad option, 3 cannot listen. "
                + "Several servers (a physical standby serves the same MVs, as replayed): repeat --url, or give a multi-host URL "
                + "(postgres://h1:5432,h2:5432/db?target_session_attrs=prefer-standby); standbys are used first, the primary "
                + "when no standby answers; /health, /metrics and each answer report the replay lag (docs/REPLICAS.md).")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--port", defaultValue = "" + ApiConfig.DEFAULT_PORT, description = "Port (default ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--bind", defaultValue = ApiConfig.DEFAULT_BIND, description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--statement-timeout", paramLabel = "D", converter = DurationConverter.class,
            defaultValue = ApiConfig.DEFAULT_STATEMENT_TIMEOUT_MS + "ms",
            description = "Per-request statement timeout, e.g. 5s (default ${DEFAULT-VALUE}): a slower query answers 503.")
    Duration statementTimeout;

    @Option(names = "--lock-timeout", paramLabel = "D", converter = DurationConverter.class,
            defaultValue = ApiConfig.DEFAULT_LOCK_TIMEOUT_MS + "ms",
            description = "How long a request waits for the MV's lock during a plain refresh before it falls back to the plain view (default ${DEFAULT-VALUE}).")
    Duration lockTimeout;

    // The spellings of release 1.0, kept so that existing unit files and scripts go on working.
    @Option(names = "--statement-timeout-ms", paramLabel = "MS", hidden = true)
    Integer statementTimeoutMs;

    @Option(names = "--lock-timeout-ms", paramLabel = "MS", hidden = true)
    Integer lockTimeoutMs;

    @Option(names = "--pool-size", defaultValue = "" + ApiConfig.DEFAULT_POOL_SIZE, description = "Database connections (default ${DEFAULT-VALUE}).")
    int poolSize;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ApiConfig config = new ApiConfig(bind, port,
                statementTimeoutMs != null ? statementTimeoutMs : Durations.millis(statementTimeout),
                lockTimeoutMs != null ? lockTimeoutMs : Durations.millis(lockTimeout),
                poolSize, ApiConfig.DEFAULT_CONNECTION_TIMEOUT_MS);
        ApiServer server = new ApiServer(connection.readSpec(), config);
        int bound;
        try {
            bound = server.start();
        } catch (java.io.IOException e) {
            server.close();
            throw new CommandFailure(ExitCode.DATABASE, "cannot listen on " + bind + ":" + port + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM / Ctrl-C run shutdown hooks: stop accepting, close the pool. The JVM is already exiting
        // with the signal's status (128 + signal); call() returning afterwards does not change it.
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "opsmv-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("opsmv serve: listening on http://" + bind + ":" + bound
                + " (driver matrix at /api/v1/ops/payments/driver-matrix, /health, /metrics); Ctrl-C to stop");
        out.flush();
        stopped.await();
        return ExitCode.OK;
    }
}
