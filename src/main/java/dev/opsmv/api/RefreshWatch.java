package dev.opsmv.api;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Redact;

/**
 * Keeps {@link ResponseCache} no older than the MV it serves, on a connection of its own (one thread).
 *
 * <p>On a primary it LISTENs on {@code opsmv_refreshed}, which release v1.7's trigger on the refresh log sends
 * for every OK row, at the commit of the refresh that wrote it (opsmv, its pg_cron procedure, a psql REFRESH the
 * event trigger logs): the cache is dropped as that refresh becomes visible. Every check interval it also reads
 * the MV's identity (OID, relfilenode, populated, last OK log row): a change without a notification (the MV
 * dropped, swapped in by a release, refreshed by a psql REFRESH the event trigger could not log) drops the cache
 * within one interval.
 *
 * <p>A standby receives no NOTIFY (LISTEN is refused during recovery) and each page carries the replay lag,
 * which moves on its own: there the cache is dropped at every check, so an answer is at most one interval old,
 * and a replayed refresh is seen within that interval too. /health says which mode runs.
 */
public final class RefreshWatch implements AutoCloseable {
    public static final String CHANNEL = "opsmv_refreshed";
    private static final Logger LOG = LoggerFactory.getLogger(RefreshWatch.class);
    private static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    private static final String IDENTITY = "SELECT c.oid::bigint, c.relfilenode::bigint, c.relispopulated, "
            + "(SELECT refresh_id FROM ops.mv_refresh_log WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet' "
            + "AND status = 'OK' ORDER BY refresh_finished_at DESC LIMIT 1), "
            + "(SELECT warn_after_hours::float8 FROM ops.mv_refresh_policy WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet'), "
            + "pg_is_in_recovery() FROM (SELECT) x LEFT JOIN pg_catalog.pg_class c ON c.oid = to_regclass('" + MV + "')";

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

    /** "listen" (a primary: NOTIFY, and a poll every interval) or "poll" (a standby), or "starting"/"down". */
    public String mode() {
        return mode;
    }

    public int intervalMs() {
        return intervalMs;
    }

    private record Identity(Long oid, Long relfilenode, Boolean populated, Long lastOk) {
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
                String line = "cache not used: its watch cannot reach the database (" + spec.describe() + "): "
                        + Redact.url(String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                if (!Objects.equals(cache.state(), line)) {
                    LOG.warn("response cache: {}", line);
                }
                mode = "down";
                cache.state(false, line);
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
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
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

    /** Watches on one connection until it fails (SQLException) or the server stops. */
    private void watch(Connection c) throws SQLException {
        Identity seen = null;
        boolean standby;
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                standby = rs.getBoolean(1);
            }
            if (!standby) {
                st.execute("LISTEN " + CHANNEL);
            }
        }
        PGConnection pg = c.unwrap(PGConnection.class);
        mode = standby ? "poll" : "listen";
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
                // One round trip. The listening backend sends the NOTIFYs of every refresh that committed before it
                // read this query ahead of the answer (the committing backend signalled it before acknowledging its
                // commit), so after it the notifications of those refreshes are in hand.
                Identity id = identity(check);
                boolean notified = false;
                PGNotification[] notes = standby ? null : pg.getNotifications();
                if (notes != null) {
                    for (PGNotification n : notes) {
                        notified |= MV.equals(n.getParameter());
                    }
                }
                boolean intervalUp = System.nanoTime() - nextInterval >= 0;
                if (seen == null) {
                    // connected (again): whatever was kept before cannot be trusted, start empty
                    cache.invalidate("down");
                    cache.state(true, standby
                            ? "on (standby: no NOTIFY here; the replayed refresh log and the MV's identity read before each answer, "
                                    + "answers kept at most " + intervalMs + " ms for the replay lag they carry)"
                            : "on (primary: a refresh's NOTIFY and the MV's identity read before each answer)");
                    LOG.info("response cache: {}", cache.state());
                } else if (notified) {
                    cache.invalidate("notify");
                } else if (!seen.equals(id)) {
                    LOG.info("response cache dropped: the MV changed without a notification ({} → {})", seen, id);
                    cache.invalidate("poll");
                } else if (standby && intervalUp) {
                    cache.invalidate("interval");
                }
                seen = id;
                if (intervalUp) {
                    nextInterval = System.nanoTime() + intervalMs * 1_000_000L;
                }
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
            return new Identity(nullable(rs, 1), nullable(rs, 2), (Boolean) rs.getObject(3), nullable(rs, 4));
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
