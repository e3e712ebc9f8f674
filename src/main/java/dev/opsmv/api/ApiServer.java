package dev.opsmv.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * The HTTP side of `serve` (Jetty's core server without servlets, HikariCP, Jackson, Prometheus client):
 * <ul>
 *   <li>GET /api/v1/ops/payments/driver-matrix — {@link DriverMatrixService}</li>
 *   <li>GET /health — the health document; 200 when OK or WARN, 503 when CRIT or unknown</li>
 *   <li>GET /livez — 200 while the process answers (nothing else is checked)</li>
 *   <li>GET /readyz — 200 when the pool can run the driver-matrix query (on the MV or its fallback), 503
 *       otherwise and while shutting down; MV freshness is /health's business, not a reason to restart</li>
 *   <li>GET /metrics — MV health gauges, request counts and latency by source, opsmv_build_info</li>
 * </ul>
 * Every answer is JSON (or Prometheus text); errors are {"error": …} with 400, 404, 405, 503 or 500,
 * never a stack trace, also for what Jetty itself refuses (a malformed request line, headers too large).
 * Startable in-process on port 0 ({@link #start()} returns the bound port).
 *
 * <p>Why Jetty and not the JDK's HttpServer: the JDK server reads every request on one dispatcher thread and
 * hands it to a worker, a thread wake-up on each request's path (~0.1 ms of a 0.7 ms request at one client,
 * docs/BENCHMARKS.md section 4b). Jetty runs a blocking handler on the thread that read the request and
 * lets another thread take over the selecting.
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
    private DriverMatrixResource driverMatrixResource;
    private final DatabaseTrouble trouble;
    /** Null when the cache is off. */
    private final ResponseCache cache;
    private RefreshWatch watch;
    private final AccessLog accessLog;
    private final ApiDocs docs = new ApiDocs();
    /** Requests being handled or written: what a graceful shutdown waits for. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;
    private Server http;
    private ServerConnector connector;

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
        this.trouble = new DatabaseTrouble(spec.user(), spec.describe(), config.statementTimeoutMs());
        this.accessLog = config.accessLog() ? AccessLog.start(System.out) : null;
        this.cache = config.cache().enabled() ? new ResponseCache(config.cache().maxEntries(), config.cache().maxBytes(), registry) : null;
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

    /**
     * Once, at start, on a connection of its own (not the pool's, which requests alone grow) and before any request,
     * bounded by 2 s: a login that is a superuser or owns the MVs can do far more than read
     * them, which an endpoint exposed to a network should not (docs/ROLES.md: opsmv_reader). Only a warning: it
     * still serves.
     */
    private void warnAboutTheLogin() {
        Properties props = spec.properties("opsmv-serve");
        props.setProperty("connectTimeout", "2");
        props.setProperty("loginTimeout", "2");
        props.setProperty("socketTimeout", "2");
        try (Connection c = java.sql.DriverManager.getConnection(spec.jdbcUrl(), props); java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT r.rolsuper, (SELECT string_agg(n.nspname || '.' || cl.relname, ', ' ORDER BY cl.relname) FROM pg_catalog.pg_class cl "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace WHERE cl.relkind = 'm' AND n.nspname = 'ops' "
                        + "AND pg_catalog.pg_has_role(current_user, cl.relowner, 'USAGE')) FROM pg_catalog.pg_roles r WHERE r.rolname = current_user")) {
            if (rs.next()) {
                if (rs.getBoolean(1)) {
                    LOG.warn("serve's login {} is a superuser: it can change anything, where reading is all serve needs; "
                            + "give serve a login granted opsmv_reader (changelog/optional/reader-role.yaml, docs/ROLES.md)", spec.user());
                } else if (rs.getString(2) != null) {
                    LOG.warn("serve's login {} owns (or is a member of the owner of) {}: it could drop or refresh them, where reading is all "
                            + "serve needs; give serve a login granted opsmv_reader (changelog/optional/reader-role.yaml, docs/ROLES.md)",
                            spec.user(), rs.getString(2));
                }
            }
        } catch (SQLException | RuntimeException e) {
            // the database is down: requests will say so; this check is only advice
        }
    }

    /** Opens the pool (lazily: the server starts even when the database is down) and listens; returns the port. */
    public synchronized int start() throws IOException {
        if (http != null) {
            return connector.getLocalPort();
        }
        warnAboutTheLogin();
        pool = dataSource(spec, config, "opsmv-serve");
        driverMatrix = new DriverMatrixService(pool, config);
        if (cache != null && spec.multiHost()) {
            // the pool's connections may sit on servers at different replay positions, and the watch on another
            cache.state(false, "off: several servers (--url repeated or a multi-host URL) replay refreshes at different "
                    + "moments, so no answer is kept; every request reads the database");
        } else if (cache != null) {
            watch = new RefreshWatch(spec, cache, config.cache().checkMs()).start();
        }
        driverMatrixResource = new DriverMatrixResource(config, driverMatrix, cache, watch, trouble);


        // a request blocks its thread on the pool: twice the pool's threads, plus the acceptor, the selector
        // and the threads Jetty keeps in reserve to take over selecting while a handler runs
        QueuedThreadPool threads = new QueuedThreadPool(Math.max(16, config.poolSize() * 2 + 8), 4);
        threads.setName("opsmv-http");
        threads.setDaemon(true);
        Server server = new Server(threads);
        HttpConfiguration http11 = new HttpConfiguration();
        http11.setSendServerVersion(false);
        http11.setSendXPoweredBy(false);
        ServerConnector listener = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http11));
        listener.setHost(config.bind());
        listener.setPort(config.port());
        listener.setAcceptQueueSize(64);
        server.addConnector(listener);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                ApiServer.this.handle(request, response, callback);
                return true;
            }
        });
        server.setErrorHandler(new JsonErrors());
        try {
            server.start();
        } catch (Exception e) {
            try {
                server.stop();
            } catch (Exception ignored) {
                // the bind failure below is what matters
            }
            pool.close();
            pool = null;
            // Jetty says "Failed to bind to /127.0.0.1:8000"; the reason ("Address already in use") is its cause
            Throwable root = dev.opsmv.db.Causes.root(e);
            throw new IOException(root.getMessage() == null ? e.toString() : root.getMessage(), e);
        }
        http = server;
        connector = listener;
        int port = listener.getLocalPort();
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
        ServerConnector listener;
        synchronized (this) {
            listener = connector;
            draining = true;
        }
        if (listener == null) {
            return 0;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        // closes the listening socket at once and the idle keep-alive connections; requests being handled go on
        listener.shutdown();
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

    public synchronized int port() {
        return connector.getLocalPort();
    }

    @Override
    public synchronized void close() {
        if (http != null) {
            try {
                http.stop();
            } catch (Exception e) {
                LOG.warn("stopping the HTTP server: {}", e.toString());
            }
            http = null;
            connector = null;
        }
        if (watch != null) {
            watch.close();
            watch = null;
        }
        if (pool != null) {
            pool.close();
            pool = null;
        }
        if (accessLog != null) {
            accessLog.close();
        }
    }

    private void handle(Request request, Response response, Callback callback) {
        long t0 = System.nanoTime();
        inFlight.incrementAndGet();
        String method = request.getMethod();
        String path = request.getHttpURI().getDecodedPath();
        String endpoint = switch (path) {
            case DRIVER_MATRIX_PATH -> "driver_matrix";
            case "/health" -> "health";
            case "/metrics" -> "metrics";
            case "/livez" -> "livez";
            case "/readyz" -> "readyz";
            case "/status" -> "status";
            default -> ApiDocs.serves(path) ? "docs" : "unknown";
        };
        HttpFields.Mutable headers = response.getHeaders();

        Reply reply;
        try {
            if ("unknown".equals(endpoint)) {
                reply = Reply.error(404, "no such path: " + path + "; try " + DRIVER_MATRIX_PATH + ", /health, /status, /livez, /readyz, /metrics, /openapi.json or /docs", null);
            } else if (!"GET".equals(method)) {
                headers.put(HttpHeader.ALLOW, "GET");
                reply = Reply.error(405, "method " + method + " not allowed; use GET", null);
            } else {
                if (draining) {
                    // a keep-alive client learns that this connection ends with the answer
                    headers.put(HttpHeader.CONNECTION, "close");
                }
                reply = switch (endpoint) {
                    case "driver_matrix" -> driverMatrixResource.answer(request, headers);
                    case "health" -> health();
                    case "livez" -> Reply.json(200, status("live"));
                    case "readyz" -> ready();
                    case "docs" -> docs(path, request.getHeaders(), headers);
                    case "status" -> statusPage();
                    default -> metrics();
                };
            }
        } catch (Exception e) {
            // Last resort: log the details, answer a short JSON error (never the stack trace).
            LOG.error("{} {}: {}", method, path, Redact.url(String.valueOf(e.getMessage())), e);
            reply = Reply.error(500, "internal error; see the server log", null);
        }
        int code = reply.code();
        response.setStatus(code);
        if (reply.contentType() != null) {
            headers.put(HttpHeader.CONTENT_TYPE, reply.contentType());
            headers.put(HttpHeader.CONTENT_LENGTH, reply.length());
        }
        String src = reply.source();
        // counted and timed when the body has gone out, or the client has
        response.write(true, ByteBuffer.wrap(reply.body(), 0, reply.length()), new Callback.Nested(callback) {
            @Override
            public void succeeded() {
                done();
                super.succeeded();
            }

            @Override
            public void failed(Throwable x) {
                done();
                super.failed(x);
            }

            private void done() {
                double seconds = (System.nanoTime() - t0) / 1e9;
                requests.labelValues(endpoint, src, Integer.toString(code)).inc();
                latency.labelValues(endpoint, src).observe(seconds);
                if (accessLog != null) {
                    accessLog.log(method, path, code, src, seconds * 1000);
                }
                inFlight.decrementAndGet();
            }
        });
    }

    /** The status page for people (dev.opsmv.health.StatusPage): HTML, read now, never cached. */
    private Reply statusPage() {
        try (Connection c = pool.getConnection()) {
            byte[] body = dev.opsmv.health.StatusPage.render(c, spec.describe()).getBytes(StandardCharsets.UTF_8);
            return new Reply(200, "text/html; charset=utf-8", body, body.length, "none");
        } catch (SQLException e) {
            LOG.warn("status: {}", trouble.unavailable(e));
            return Reply.error(503, trouble.unavailable(e), null);
        }
    }

    /** /openapi.json and /docs with its assets: from the jar, gzip-compressed when the client accepts it. */
    private Reply docs(String path, HttpFields asked, HttpFields.Mutable headers) {
        ApiDocs.Asset a = docs.get(path);
        headers.put(HttpHeader.VARY, "Accept-Encoding");
        headers.put(HttpHeader.CACHE_CONTROL, path.startsWith("/docs/swagger-ui") ? "public, max-age=86400" : "no-cache");
        if (HttpRules.acceptsGzip(asked.get(HttpHeader.ACCEPT_ENCODING))) {
            headers.put(HttpHeader.CONTENT_ENCODING, "gzip");
            return new Reply(200, a.contentType(), a.gzip(), a.gzip().length, "none");
        }
        return new Reply(200, a.contentType(), a.body(), a.body().length, "none");
    }

    /** Ready when the driver-matrix query runs (on the MV or its fallback), not while shutting down. */
    private Reply ready() {
        if (draining) {
            return Reply.error(503, "shutting down", null);
        }
        try {
            DriverMatrixQuery probe = DriverMatrixQuery.parse(Map.of("limit", List.of("1")), LocalDate.now(ZoneOffset.UTC));
            DriverMatrixService.Result r = driverMatrix.query(probe);
            ObjectNode body = status("ready");
            body.put("source", r.source());
            body.put("fallback_reason", r.fallbackReason());
            return Reply.json(200, body);
        } catch (MissingColumn e) {
            LOG.warn("readyz: 503: {}", e.getMessage());
            return Reply.error(503, e.getMessage(), null);
        } catch (SQLException e) {
            String msg = trouble.unavailable(e);
            LOG.warn("readyz: 503: {}", msg);
            return Reply.error(503, msg, null);
        }
    }

    private static ObjectNode status(String status) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("status", status);
        return o;
    }

    public static final String CACHE_HEADER = "X-Opsmv-Cache";

    private Reply health() {
        try (Connection c = pool.getConnection()) {
            HealthReport report = HealthCheck.run(c);
            Level overall = report.overall();
            ObjectNode doc = HealthJson.document(report);
            doc.set("response_cache", cacheStatus());
            return Reply.json(overall == Level.OK || overall == Level.WARN ? 200 : 503, doc);
        } catch (SQLException e) {
            LOG.warn("health: cannot read health: {}", Redact.url(String.valueOf(e.getMessage())));
            return Reply.json(503, HealthJson.unknown(trouble.unavailable(e)));
        }
    }

    /** What /health says of the response cache: whether it answers, how it learns of refreshes, what it holds. */
    private ObjectNode cacheStatus() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("enabled", cache != null);
        if (cache == null) {
            o.put("state", "off (--no-cache): every request reads the database");
            return o;
        }
        o.put("usable", cache.usable());
        o.put("state", cache.state());
        o.put("invalidation", watch == null ? null : watch.mode());
        o.put("check_interval_ms", config.cache().checkMs());
        o.put("staleness_ms", config.cache().stalenessMs());
        o.put("entries", cache.size());
        o.put("max_entries", config.cache().maxEntries());
        o.put("bytes", cache.bytes());
        o.put("max_bytes", config.cache().maxBytes());
        o.put("hits", cache.hits());
        o.put("misses", cache.misses());
        return o;
    }

    private Reply metrics() throws IOException {
        PrometheusRegistry health;
        try (Connection c = pool.getConnection()) {
            health = HealthMetrics.registry(HealthCheck.run(c));
        } catch (SQLException e) {
            LOG.warn("metrics: cannot read health: {}", Redact.url(String.valueOf(e.getMessage())));
            health = HealthMetrics.unknown();
        }
        byte[] body = HealthMetrics.text(health, registry).getBytes(StandardCharsets.UTF_8);
        return new Reply(200, HealthMetrics.CONTENT_TYPE, body, body.length, "none");
    }


    /**
     * What Jetty answers itself (a malformed request line or URI, headers too large, …) in the endpoint's
     * shape: {"error": …}, never Jetty's HTML page or a stack trace.
     */
    private static final class JsonErrors extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            Reply reply = Reply.error(code, reason(code, message), null);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType());
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, reply.length());
            response.write(true, ByteBuffer.wrap(reply.body(), 0, reply.length()), callback);
        }

        private static String reason(int code, String message) {
            String m = message == null || message.isBlank() ? org.eclipse.jetty.http.HttpStatus.getMessage(code) : message;
            return m.replaceAll("\\s*\\R\\s*", " ").trim();
        }
    }
}
