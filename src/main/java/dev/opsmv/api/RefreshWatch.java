package dev.opsmv.api;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Objects;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.DriverMatrixRelation;
import dev.opsmv.db.Redact;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@link ResponseCache} no older than the MV it serves, on a connection of its own (one thread).
 *
 * <p>Before a request looks in the cache it waits for a check that began after it arrived ({@link #fence}): one
 * round trip of a small query reading the MV's identity (OID, relfilenode, populated) and the newest OK row of
 * the refresh log. Every refresh changes one of them in its own transaction: opsmv's SWAP (a new OID), PLAIN and
 * CONCURRENTLY (the OK row commits with the new data), its pg_cron procedure, and a psql REFRESH (a new relfilenode,
 * and the OK row the event trigger writes). A refresh that committed before the request is therefore seen by it,
 * never served stale. Requests that arrive together share one check, so under load the database sees one small
 * query per batch of hits, not one per request.
 *
 * <p>Two cases cannot be told from the identity, and there the answers are also dropped every check interval:
 * a database without the refresh-tracking event trigger (it needs superuser: a psql REFRESH ... CONCURRENTLY
 * keeps the relfilenode and logs nothing), and a standby, whose answers carry the replay lag, which moves on its
 * own. /health says which rule runs.
 *
 * <p>(A NOTIFY from the refresh log was tried first: it arrives after the commit, asynchronously, and a request
 * could still win the race against it; and pgjdbc's poll for notifications waits a millisecond per call.)
 */
public final class RefreshWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RefreshWatch.class);
    private static final String MV = DriverMatrixRelation.MV;
    private static final String IDENTITY = "SELECT c.oid::bigint, c.relfilenode::bigint, c.relispopulated, "
            + "(SELECT refresh_id FROM ops.mv_refresh_log WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet' "
            + "AND status = 'OK' ORDER BY refresh_finished_at DESC LIMIT 1), "
            + "(SELECT warn_after_hours::float8 FROM ops.mv_refresh_policy WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet'), "
            + "pg_is_in_recovery(), "
            + "coalesce((SELECT evtenabled <> 'D' FROM pg_catalog.pg_event_trigger WHERE evtname = 'opsmv_track_refresh'), false) "
            + "FROM (SELECT) x LEFT JOIN pg_catalog.pg_class c ON c.oid = to_regclass('" + MV + "')";

    private final ConnectionSpec spec;
    private final ResponseCache cache;
    private final int intervalMs;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile Connection connection;
    /** The policy's WARN threshold for the MV, in hours: a page's max-age never reaches past it. Null: unknown. */
    private volatile Double warnAfterHours;
    private volatile String mode = "starting";

    public RefreshWatch(ConnectionSpec spec, ResponseCache cache, int intervalMs) {
        this.spec = spec;
        this.cache = cache;
        this.intervalMs = intervalMs;
        this.thread = new Thread(this::run, "opsmv-cache-watch");
        thread.setDaemon(true);
    }

    public RefreshWatch start() {
        thread.start();
        return this;
    }

    public Double warnAfterHours() {
        return warnAfterHours;
    }

    /** "identity" (every refresh seen by the check), "untracked" or "standby" (also dropped every interval), or "starting"/"down". */
    public String mode() {
        return mode;
    }


    /** What a check reads; the first four change with every refresh that can be seen. */
    private record Identity(Long oid, Long relfilenode, Boolean populated, Long lastOk, boolean standby, boolean tracked) {
        boolean sameData(Identity o) {
            return java.util.Objects.equals(oid, o.oid) && java.util.Objects.equals(relfilenode, o.relfilenode)
                    && java.util.Objects.equals(populated, o.populated) && java.util.Objects.equals(lastOk, o.lastOk);
        }
    }

    private void run() {
        while (!stopping) {
            try (Connection c = spec.open("opsmv-serve-cache")) {
                connection = c;
                c.setAutoCommit(true);
                watch(c);
            } catch (SQLException e) {
                if (stopping) {
                    break;
                }
                String grant = dev.opsmv.db.Privileges.missingGrant(e, spec.user());
                String line = grant != null ? "cache not used: " + grant
                        : "cache not used: its watch cannot reach the database (" + spec.describe() + "): "
                        + Redact.url(String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                if (!Objects.equals(cache.state(), line)) {
                    LOG.warn("response cache: {}", line);
                }
                mode = "down";
                cache.state(false, line);
                synchronized (gate) {
                    // the requests waiting for a check read the database instead, now
                    gate.notifyAll();
                }
            } finally {
                connection = null;
            }
            sleep(intervalMs);
        }
        cache.state(false, "stopped");
    }

    /**
     * Returns once a check that began after this call has finished (false when none could: the watch is down, or
     * slower than {@code timeoutMs}). A request calls it before it looks in the cache: a refresh that committed
     * before the request arrived has then been seen, so a kept answer is never older than the MV. Requests that
     * arrive together share one check (one round trip of the identity query for all of them).
     */
    public boolean fence(long timeoutMs) {
        return fence(timeoutMs, 0);
    }

    /**
     * As {@link #fence(long)}, but a check that began at most {@code stalenessMs} before this call will do: with
     * 0 a request never gets a page older than the MV; with more, under load most requests wait for nothing and
     * an answer may miss a refresh that committed at most that long before the request.
     */
    public boolean fence(long timeoutMs, long stalenessMs) {
        long now = System.nanoTime();
        if (stalenessMs > 0 && cache.usable() && now - lastCheckBegan <= stalenessMs * 1_000_000L) {
            return true;
        }
        long deadline = now + timeoutMs * 1_000_000L;
        synchronized (gate) {
            long mine = ++requested;
            gate.notifyAll();
            while (completed < mine) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0 || !cache.usable() || stopping) {
                    return false;
                }
                try {
                    gate.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    private final Object gate = new Object();
    /** Fences asked for, and the highest one a finished check covers (both guarded by gate). */
    private long requested;
    private long completed;
    /** When the last finished check began (System.nanoTime). */
    private volatile long lastCheckBegan = Long.MIN_VALUE / 2;

    /** Watches on one connection until it fails (SQLException) or the server stops. */
    private void watch(Connection c) throws SQLException {
        Identity seen = null;
        long nextInterval = System.nanoTime();
        try (PreparedStatement check = c.prepareStatement(IDENTITY)) {
            while (!stopping) {
                long covering;
                synchronized (gate) {
                    // idle until a request asks for a check, or the interval is up
                    long left;
                    while (!stopping && requested == completed && (left = (nextInterval - System.nanoTime()) / 1_000_000L) > 0) {
                        try {
                            gate.wait(left);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    covering = requested;
                }
                long began = System.nanoTime();
                Identity id = identity(check);
                cache.checked();
                boolean intervalUp = System.nanoTime() - nextInterval >= 0;
                // where the identity cannot show every refresh, or the answers carry a lag that moves on its own
                boolean everyInterval = id.standby() || !id.tracked();
                if (seen == null || seen.standby() != id.standby() || seen.tracked() != id.tracked()) {
                    // connected (again), or the rule changed: whatever was kept before cannot be trusted
                    cache.invalidate("down");
                    mode = id.standby() ? "standby" : id.tracked() ? "identity" : "untracked";
                    cache.state(true, id.standby()
                            ? "on (standby: the replayed MV identity and refresh log read before each answer; answers also kept at most "
                                    + intervalMs + " ms, for the replay lag they carry)"
                            : id.tracked()
                            ? "on (the MV's identity and last OK refresh read before each answer)"
                            : "on (the MV's identity and last OK refresh read before each answer; without the refresh-tracking event trigger "
                                    + "a psql REFRESH ... CONCURRENTLY leaves no trace, so answers are also kept at most " + intervalMs + " ms)");
                    LOG.info("response cache: {}", cache.state());
                } else if (!seen.sameData(id)) {
                    cache.invalidate("refresh");
                } else if (everyInterval && intervalUp) {
                    cache.invalidate("interval");
                }
                seen = id;
                if (intervalUp) {
                    nextInterval = System.nanoTime() + intervalMs * 1_000_000L;
                }
                lastCheckBegan = began;
                synchronized (gate) {
                    completed = covering;
                    gate.notifyAll();
                }
            }
        } finally {
            synchronized (gate) {
                gate.notifyAll();
            }
        }
    }

    private Identity identity(PreparedStatement check) throws SQLException {
        try (ResultSet rs = check.executeQuery()) {
            rs.next();
            double warn = rs.getDouble(5);
            warnAfterHours = rs.wasNull() ? null : warn;
            return new Identity(nullable(rs, 1), nullable(rs, 2), (Boolean) rs.getObject(3), nullable(rs, 4), rs.getBoolean(6), rs.getBoolean(7));
        }
    }

    private static Long nullable(ResultSet rs, int i) throws SQLException {
        long v = rs.getLong(i);
        return rs.wasNull() ? null : v;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        Connection c = connection;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // stopping anyway
            }
        }
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
