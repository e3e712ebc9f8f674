package dev.opsmv.api;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Redact;
import dev.opsmv.health.HealthCheck;
import dev.opsmv.health.HealthJson;
import dev.opsmv.health.HealthMetrics;
import dev.opsmv.health.HealthReport;
import dev.opsmv.health.Level;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The HTTP side of `serve` (JDK HttpServer, HikariCP, Jackson, Prometheus client):
 * <ul>
 *   <li>GET /api/v1/ops/payments/driver-matrix — {@link DriverMatrixService}</li>
 *   <li>GET /health — the health document; 200 when OK or WARN, 503 when CRIT or unknown</li>
 *   <li>GET /livez — 200 while the process answers (nothing else is checked)</li>
 *   <li>GET /readyz — 200 when the pool can run the driver-matrix query (on the MV or its fallback), 503
 *       otherwise and while shutting down; MV freshness is /health's business, not a reason to restart</li>
 *   <li>GET /metrics — MV health gauges, request counts and latency by source, opsmv_build_info</li>
 * </ul>
 * Every answer is JSON (or Prometheus text); errors are {"error": …} with 400, 404, 405, 503 or 500,
 * never a stack trace. Startable in-process on port 0 ({@link #start()} returns the bound port).
 */
public final class ApiServer implements AutoCloseable {
    public static final String DRIVER_MATRIX_PATH = "/api/v1/ops/payments/driver-matrix";
    public static final String SOURCE_HEADER = "X-Opsmv-Source";
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);

    private final ConnectionSpec spec;
    private final ApiConfig config;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram latency;
    private HikariDataSource pool;
    private DriverMatrixService driverMatrix;
    private final AccessLog accessLog;
    /** Requests handed to the executor and not finished yet: what a graceful shutdown waits for. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;
    private HttpServer http;
    private ExecutorService executor;

    public ApiServer(ConnectionSpec spec, ApiConfig config) {
        this.spec = spec;
        this.config = config;
        this.requests = Counter.builder().name("opsmv_http_requests")
                .help("HTTP requests by endpoint, data source (materialized_view, view, none) and status code")
                .labelNames("endpoint", "source", "code").register(registry);
        this.latency = Histogram.builder().name("opsmv_http_request_duration_seconds")
                .help("HTTP request latency by endpoint and data source")
                .labelNames("endpoint", "source").classicOnly()
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).register(registry);
        BuildInfo build = BuildInfo.current();
        Gauge.builder().name("opsmv_build_info").help("Always 1; the labels say which opsmv, Liquibase and Java serve")
                .labelNames("version", "liquibase", "java").register(registry)
                .labelValues(build.version(), build.liquibaseVersion(), build.javaVersion()).set(1);
        this.accessLog = config.accessLog() ? AccessLog.start(System.out) : null;
    }

    /**
     * The endpoint's statements are planned once per connection, not once per request. With plan_cache_mode
     * auto PostgreSQL never settles on a generic plan for them: a generic plan costs {@code LIMIT $n} as a
     * tenth of the rows, so the custom plan always looks cheaper, and every request was planned anew (0.3 to
     * 0.5 ms of a 0.6 ms statement at 200,000 drivers, docs/BENCHMARKS.md section 4b). The generic plan is
     * the same index scan; the plain-view fallback takes as long either way (it aggregates the sources whole).
     */
    public static final String GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan";

    /**
     * The pool of `serve`, built here only (the benchmark's JDBC floor copies its JDBC settings): autocommit,
     * read-only, statement_timeout, lock_timeout and application_name set once per connection in the startup
     * packet, statements prepared server-side from their first execution.
     */
    public static HikariDataSource dataSource(ConnectionSpec spec, ApiConfig config, String poolName) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName(poolName);
        hc.setJdbcUrl(spec.jdbcUrl());
        Properties props = spec.properties("opsmv-serve");
        // Read-only is not among these: pgjdbc tells a primary from a standby by `SHOW transaction_read_only`,
        // so with it in the startup packet every primary would pass for a standby (several --url). It comes
        // from readOnlyMode=always below: one SET SESSION CHARACTERISTICS when the pool opens the connection.
        String settings = "-c statement_timeout=" + config.statementTimeoutMs() + " -c lock_timeout=" + config.lockTimeoutMs()
                + " " + GENERIC_PLANS;
        String given = props.getProperty("options");
        props.setProperty("options", given == null || given.isBlank() ? settings : given + " " + settings);
        // pgjdbc's default (5) sends the first four executions of each statement unnamed, parsed every time
        props.setProperty("prepareThreshold", "1");
        // setReadOnly(true) in autocommit: pgjdbc's default mode ("transaction") would not make it read-only
        props.setProperty("readOnlyMode", "always");
        // values in PostgreSQL's text form: for numbers, dates and UTC timestamps that is already their JSON
        // (DriverMatrixService.value); decoding binary numerics into BigDecimals to print them again was a
        // fifth of a request's time in a profile
        props.setProperty("binaryTransfer", "false");
        // application_name in the startup packet, not a SET after connecting (pgjdbc's default for unknown servers)
        props.setProperty("assumeMinServerVersion", "10");
        hc.setDataSourceProperties(props);
        hc.setMaximumPoolSize(config.poolSize());
        hc.setMinimumIdle(Math.min(2, config.poolSize()));
        hc.setReadOnly(true);
        hc.setAutoCommit(true);
        hc.setConnectionTimeout(config.connectionTimeoutMs());
        // -1: do not fail at start when the database is down; requests answer 503 until it is back.
        hc.setInitializationFailTimeout(-1);
        return new HikariDataSource(hc);
    }

    /** Opens the pool (lazily: the server starts even when the database is down) and listens; returns the port. */
    public synchronized int start() throws IOException {
        if (http != null) {
            return http.getAddress().getPort();
        }
        pool = dataSource(spec, config, "opsmv-serve");
        driverMatrix = new DriverMatrixService(pool, config);

        // Without TCP_NODELAY the JDK server writes headers and body in two segments and the second
        // waits for the client's delayed ACK: ~40 ms added to every response. Read once, at first use.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        http = HttpServer.create(new InetSocketAddress(config.bind(), config.port()), 64);
        executor = Executors.newFixedThreadPool(Math.max(4, config.poolSize() * 2), r -> {
            Thread t = new Thread(r, "opsmv-http");
            t.setDaemon(true);
            return t;
        });
        ExecutorService workers = executor;
        // counted from the hand-over, so that a request queued behind busy workers is in flight too
        http.setExecutor(task -> {
            inFlight.incrementAndGet();
            try {
                workers.execute(() -> {
                    try {
                        task.run();
                    } finally {
                        inFlight.decrementAndGet();
                    }
                });
            } catch (RuntimeException e) {
                inFlight.decrementAndGet();
                throw e;
            }
        });
        http.createContext("/", this::handle);
        http.start();
        int port = http.getAddress().getPort();
        LOG.info("serving on http://{}:{} (database {}; pool {}, statement timeout {} ms, lock timeout {} ms, access log {})",
                config.bind(), port, spec.describe(), config.poolSize(), config.statementTimeoutMs(), config.lockTimeoutMs(),
                config.accessLog() ? "on" : "off");
        return port;
    }

    /**
     * Graceful stop (SIGTERM): closes the listener at once (new connections are refused), answers what is in
     * flight (with Connection: close, and /readyz 503), waits for it at most {@code grace}, then closes the
     * pool. Returns the number of requests still unfinished when the grace ran out (0: all answered).
     */
    public int shutdown(Duration grace) {
        HttpServer server;
        synchronized (this) {
            server = http;
            http = null; // stopped by the thread below, not again by close()
            draining = true;
        }
        if (server == null) {
            return 0;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        // HttpServer.stop closes the listener first, then waits (JDK 17: up to its whole delay even when idle,
        // JDK-8304065), so it runs aside and the wait below decides when to go on.
        Thread stopper = new Thread(() -> server.stop((int) Math.max(1, (grace.toMillis() + 999) / 1000)), "opsmv-serve-stop");
        stopper.setDaemon(true);
        stopper.start();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = inFlight.get();
        LOG.info("shutdown: {}", left == 0 ? "every request in flight answered" : left + " request(s) still unfinished after the grace of " + grace.toMillis() + " ms");
        close();
        return left;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    @Override
    public synchronized void close() {
        if (http != null) {
            http.stop(0);
            http = null;
        }
        if (executor != null) {
            executor.shutdownNow();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            executor = null;
        }
        if (pool != null) {
            pool.close();
            pool = null;
        }
        if (accessLog != null) {
            accessLog.close();
        }
    }

    private void handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        String endpoint = switch (path) {
            case DRIVER_MATRIX_PATH -> "driver_matrix";
            case "/health" -> "health";
            case "/metrics" -> "metrics";
            case "/livez" -> "livez";
            case "/readyz" -> "readyz";
            default -> "unknown";
        };
        String source = "none";
        int code;
        try {
            if ("unknown".equals(endpoint)) {
                code = json(ex, 404, error("no such path: " + path + "; try " + DRIVER_MATRIX_PATH + ", /health, /livez, /readyz or /metrics", null));
            } else if (!"GET".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "GET");
                code = json(ex, 405, error("method " + ex.getRequestMethod() + " not allowed; use GET", null));
            } else {
                if (draining) {
                    // a keep-alive client learns that this connection ends with the answer
                    ex.getResponseHeaders().set("Connection", "close");
                }
                switch (endpoint) {
                    case "driver_matrix" -> {
                        DriverMatrixService.Result r = driverMatrixRequest(ex);
                        source = r == null ? "none" : r.source();
                        code = ex.getResponseCode();
                    }
                    case "health" -> code = health(ex);
                    case "livez" -> code = json(ex, 200, status("live"));
                    case "readyz" -> code = ready(ex);
                    default -> code = metrics(ex);
                }
            }
        } catch (Exception e) {
            // Last resort: log the details, answer a short JSON error (never the stack trace).
            LOG.error("{} {}: {}", ex.getRequestMethod(), path, Redact.url(String.valueOf(e.getMessage())), e);
            code = safeJson(ex, 500, error("internal error; see the server log", null));
        } finally {
            ex.close();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        requests.labelValues(endpoint, source, Integer.toString(code)).inc();
        latency.labelValues(endpoint, source).observe(seconds);
        if (accessLog != null) {
            accessLog.log(ex.getRequestMethod(), path, code, source, seconds * 1000);
        }
    }

    /** Ready when the driver-matrix query runs (on the MV or its fallback), not while shutting down. */
    private int ready(HttpExchange ex) throws IOException {
        if (draining) {
            return json(ex, 503, error("shutting down", null));
        }
        try {
            DriverMatrixQuery probe = DriverMatrixQuery.parse(Map.of("limit", List.of("1")), LocalDate.now(ZoneOffset.UTC));
            DriverMatrixService.Result r = driverMatrix.query(probe);
            ObjectNode body = status("ready");
            body.put("source", r.source());
            body.put("fallback_reason", r.fallbackReason());
            return json(ex, 200, body);
        } catch (SQLException e) {
            String msg = unavailable(e);
            LOG.warn("readyz: 503: {}", msg);
            return json(ex, 503, error(msg, null));
        }
    }

    private static ObjectNode status(String status) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("status", status);
        return o;
    }

    private DriverMatrixService.Result driverMatrixRequest(HttpExchange ex) throws IOException {
        DriverMatrixQuery q;
        try {
            q = DriverMatrixQuery.parse(query(ex.getRequestURI().getRawQuery()), LocalDate.now(ZoneOffset.UTC));
        } catch (BadParameter e) {
            json(ex, 400, error(e.getMessage(), e.parameter()));
            return null;
        }
        try {
            DriverMatrixService.Result r = driverMatrix.query(q);
            ex.getResponseHeaders().set(SOURCE_HEADER, r.source());
            send(ex, 200, r.body(), r.length());
            return r;
        } catch (SQLException e) {
            databaseError(ex, e, "driver-matrix");
            return null;
        }
    }

    private int health(HttpExchange ex) throws IOException {
        try (Connection c = pool.getConnection()) {
            HealthReport report = HealthCheck.run(c);
            Level overall = report.overall();
            return json(ex, overall == Level.OK || overall == Level.WARN ? 200 : 503, HealthJson.document(report));
        } catch (SQLException e) {
            LOG.warn("health: cannot read health: {}", Redact.url(String.valueOf(e.getMessage())));
            return json(ex, 503, HealthJson.unknown(unavailable(e)));
        }
    }

    private int metrics(HttpExchange ex) throws IOException {
        PrometheusRegistry health;
        try (Connection c = pool.getConnection()) {
            health = HealthMetrics.registry(HealthCheck.run(c));
        } catch (SQLException e) {
            LOG.warn("metrics: cannot read health: {}", Redact.url(String.valueOf(e.getMessage())));
            health = HealthMetrics.unknown();
        }
        byte[] body = HealthMetrics.text(health, registry).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", HealthMetrics.CONTENT_TYPE);
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
        return 200;
    }

    /** Database trouble → 503 (unavailable, timed out, locked) with a one-line reason; anything else → 500. */
    private void databaseError(HttpExchange ex, SQLException e, String what) throws IOException {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (e instanceof SQLTransientConnectionException || state.startsWith("08") || state.equals("57P01")
                || state.equals("57P03") || state.equals("57014") || state.equals("55P03")) {
            String msg = unavailable(e);
            LOG.warn("{}: 503: {}", what, msg);
            ex.getResponseHeaders().set("Retry-After", "5");
            json(ex, 503, error(msg, null));
        } else {
            LOG.error("{}: database error [SQLSTATE {}]: {}", what, state, Redact.url(String.valueOf(e.getMessage())));
            json(ex, 500, error("database error [SQLSTATE " + state + "]; see the server log", null));
        }
    }

    private String unavailable(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return switch (state) {
            case "57014" -> "the query took longer than the statement timeout of " + config.statementTimeoutMs() + " ms";
            case "55P03" -> "the driver matrix is locked (a refresh holds it) and the plain view too; retry shortly";
            default -> "database unavailable (" + spec.describe() + "): " + oneLine(e);
        };
    }

    private static String oneLine(SQLException e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && t.getMessage() != null && t.getMessage().contains("Connection is not available")) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return Redact.url(m.replaceAll("\\s*\\R\\s*", " ").trim());
    }

    static ObjectNode error(String message, String parameter) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("error", message);
        if (parameter != null) {
            o.put("parameter", parameter);
        }
        return o;
    }

    private static int json(HttpExchange ex, int code, ObjectNode body) throws IOException {
        return send(ex, code, HealthJson.writeCompact(body).getBytes(StandardCharsets.UTF_8));
    }

    private static int send(HttpExchange ex, int code, byte[] bytes) throws IOException {
        return send(ex, code, bytes, bytes.length);
    }

    /** The first {@code length} bytes of {@code bytes} as the body. */
    private static int send(HttpExchange ex, int code, byte[] bytes, int length) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(code, length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes, 0, length);
        }
        return code;
    }

    private static int safeJson(HttpExchange ex, int code, ObjectNode body) {
        try {
            return json(ex, code, body);
        } catch (IOException | RuntimeException e) {
            return code; // headers already sent or client gone: nothing more to say
        }
    }

    /** The query string as name → values (URL-decoded); repeated names keep every value. */
    static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k;
            String v;
            try {
                k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new BadParameter("query", "malformed query string near '" + pair + "': " + e.getMessage());
            }
            out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return out;
    }
}
