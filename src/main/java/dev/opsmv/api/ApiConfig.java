package dev.opsmv.api;

/**
 * How `serve` listens and talks to the database.
 *
 * @param bind                address to listen on (127.0.0.1 by default: put a reverse proxy in front to expose it)
 * @param port                0 picks a free port (tests, demo)
 * @param statementTimeoutMs  per-request bound on every statement (set once per pooled connection)
 * @param lockTimeoutMs       how long a request waits for a lock on the MV (a plain REFRESH holds ACCESS
 *                            EXCLUSIVE) before it falls back to the plain view
 * @param poolSize            HikariCP maximum pool size
 * @param connectionTimeoutMs how long a request waits for a pooled connection (database down → 503 after this)
 * @param accessLog           one line per request on stdout (method, path, status, source, ms), written asynchronously
 * @param cache               the response cache ({@link ResponseCache}): its bounds, how often its watch checks the MV,
 *                            and the longest max-age a page is given
 */
public record ApiConfig(String bind, int port, int statementTimeoutMs, int lockTimeoutMs, int poolSize, int connectionTimeoutMs,
                        boolean accessLog, Cache cache) {
    /**
     * @param enabled       off: every request reads the database, and answers say Cache-Control: no-cache
     * @param maxEntries    answers kept at most
     * @param maxBytes      bytes the kept answers may hold (bodies and room for their gzip form)
     * @param checkMs       how often the watch reads the MV's identity (and, on a standby, how long an answer is kept)
     * @param maxAgeSeconds the longest Cache-Control max-age of a page (never past the policy's WARN threshold)
     * @param stalenessMs   0: each request waits for a check of the MV that began after it arrived (never older than the
     *                      MV); more: a check that began at most this long before will do (faster under load)
     */
    public record Cache(boolean enabled, int maxEntries, long maxBytes, int checkMs, int maxAgeSeconds, int stalenessMs) {
        public static final int DEFAULT_ENTRIES = 1000;
        public static final long DEFAULT_BYTES = 64L * 1024 * 1024;
        public static final int DEFAULT_CHECK_MS = 1000;
        public static final int DEFAULT_MAX_AGE_SECONDS = 60;

        public Cache {
            if (maxEntries < 1 || maxBytes < 1024) {
                throw new IllegalArgumentException("--cache-entries must be positive and --cache-size at least 1kB");
            }
            if (checkMs < 10) {
                throw new IllegalArgumentException("--cache-check must be at least 10ms");
            }
            if (maxAgeSeconds < 0) {
                throw new IllegalArgumentException("--max-age must not be negative");
            }
            if (stalenessMs < 0 || stalenessMs > checkMs) {
                throw new IllegalArgumentException("--cache-staleness must be from 0 to --cache-check (" + checkMs + "ms)");
            }
        }

        public Cache(boolean enabled, int maxEntries, long maxBytes, int checkMs, int maxAgeSeconds) {
            this(enabled, maxEntries, maxBytes, checkMs, maxAgeSeconds, 0);
        }

        public Cache withStalenessMs(int ms) {
            return new Cache(enabled, maxEntries, maxBytes, checkMs, maxAgeSeconds, ms);
        }

        public static Cache defaults() {
            return new Cache(true, DEFAULT_ENTRIES, DEFAULT_BYTES, DEFAULT_CHECK_MS, DEFAULT_MAX_AGE_SECONDS);
        }

        public Cache off() {
            return new Cache(false, maxEntries, maxBytes, checkMs, maxAgeSeconds, stalenessMs);
        }
    }

    public static final int DEFAULT_PORT = 8000;
    public static final String DEFAULT_BIND = "127.0.0.1";
    public static final int DEFAULT_STATEMENT_TIMEOUT_MS = 5000;
    public static final int DEFAULT_LOCK_TIMEOUT_MS = 200;
    public static final int DEFAULT_POOL_SIZE = 8;
    public static final int DEFAULT_CONNECTION_TIMEOUT_MS = 2000;

    public ApiConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be 0..65535 (got " + port + ")");
        }
        if (statementTimeoutMs < 1 || lockTimeoutMs < 1 || poolSize < 1) {
            throw new IllegalArgumentException("--statement-timeout, --lock-timeout and --pool-size must be positive");
        }
        if (connectionTimeoutMs < 250) {
            throw new IllegalArgumentException("--connection-timeout must be at least 250 ms (HikariCP's minimum)");
        }
    }

    public ApiConfig(String bind, int port, int statementTimeoutMs, int lockTimeoutMs, int poolSize, int connectionTimeoutMs) {
        this(bind, port, statementTimeoutMs, lockTimeoutMs, poolSize, connectionTimeoutMs, false);
    }

    public ApiConfig(String bind, int port, int statementTimeoutMs, int lockTimeoutMs, int poolSize, int connectionTimeoutMs,
                     boolean accessLog) {
        this(bind, port, statementTimeoutMs, lockTimeoutMs, poolSize, connectionTimeoutMs, accessLog, Cache.defaults());
    }

    public static ApiConfig defaults() {
        return new ApiConfig(DEFAULT_BIND, DEFAULT_PORT, DEFAULT_STATEMENT_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS,
                DEFAULT_POOL_SIZE, DEFAULT_CONNECTION_TIMEOUT_MS);
    }

    public ApiConfig withPort(int p) {
        return new ApiConfig(bind, p, statementTimeoutMs, lockTimeoutMs, poolSize, connectionTimeoutMs, accessLog, cache);
    }

    public ApiConfig withConnectionTimeoutMs(int ms) {
        return new ApiConfig(bind, port, statementTimeoutMs, lockTimeoutMs, poolSize, ms, accessLog, cache);
    }

    public ApiConfig withPoolSize(int size) {
        return new ApiConfig(bind, port, statementTimeoutMs, lockTimeoutMs, size, connectionTimeoutMs, accessLog, cache);
    }

    public ApiConfig withAccessLog(boolean on) {
        return new ApiConfig(bind, port, statementTimeoutMs, lockTimeoutMs, poolSize, connectionTimeoutMs, on, cache);
    }

    public ApiConfig withCache(Cache c) {
        return new ApiConfig(bind, port, statementTimeoutMs, lockTimeoutMs, poolSize, connectionTimeoutMs, accessLog, c);
    }

    /** The same server without its response cache: every request reads the database. */
    public ApiConfig withoutCache() {
        return withCache(cache.off());
    }
}
