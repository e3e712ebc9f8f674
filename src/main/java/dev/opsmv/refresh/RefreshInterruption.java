package dev.opsmv.refresh;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import dev.opsmv.db.ConnectionSpec;

/**
 * SIGTERM or Ctrl-C during a one-off `refresh`. The JVM runs shutdown hooks and then exits 143 / 130; this
 * hook uses that time so that nothing half-built outlives the runner: no MV after the current one starts, and
 * the statements that build (REFRESH, CREATE of the new relations and their indexes, ANALYZE) are cancelled
 * from a connection of its own until the engine has unwound. Each mechanism then does what it does on any
 * error: a plain or CONCURRENTLY refresh rolls back, a swap or a chain swap drops what it built beside the
 * serving relations (its DROP is never cancelled), and the log rows end ERROR, not RUNNING. SIGKILL leaves no
 * such time: the next run drops the leftover (ChainSwapTest).
 */
public final class RefreshInterruption implements AutoCloseable {
    /** How long the hook waits for the engine to unwind before the JVM exits anyway. */
    private static final long UNWIND_MILLIS = 30_000;
    /** What builds, in the sessions of the engine: cancelled; everything else (cleanup, log rows) left to finish. */
    private static final String CANCEL = """
            SELECT count(pg_cancel_backend(a.pid)) FROM pg_stat_activity a
            WHERE a.pid::text || '@' || a.backend_start::text = ANY (?) AND a.state = 'active'
              AND a.query ~* '^\\s*(REFRESH|CREATE|ANALYZE|SELECT ops\\.opsmv_refresh\\()'
            """;

    private final ConnectionSpec spec;
    private final RefreshEngine engine;
    private final AtomicBoolean stop;
    private final Consumer<String> out;
    private final CountDownLatch unwound = new CountDownLatch(1);
    private final Thread hook;

    private RefreshInterruption(ConnectionSpec spec, RefreshEngine engine, AtomicBoolean stop, Consumer<String> out) {
        this.spec = spec;
        this.engine = engine;
        this.stop = stop;
        this.out = out;
        this.hook = new Thread(this::interrupt, "opsmv-refresh-interrupt");
    }

    /** Guards one run of {@code engine}; {@code stop} is the flag the run checks between MVs. Close it when the run returns. */
    public static RefreshInterruption guard(ConnectionSpec spec, RefreshEngine engine, AtomicBoolean stop, Consumer<String> out) {
        RefreshInterruption i = new RefreshInterruption(spec, engine, stop, out);
        Runtime.getRuntime().addShutdownHook(i.hook);
        return i;
    }

    private void interrupt() {
        stop.set(true);
        out.accept("opsmv: interrupted: stopping the refresh; what it was building beside the serving MVs is dropped");
        long deadline = System.currentTimeMillis() + UNWIND_MILLIS;
        try (Connection c = spec.open("opsmv-refresh-interrupt")) {
            c.setAutoCommit(true);
            // a cancel that lands between two statements finds nothing to cancel: look again until the run is over
            do {
                cancel(c);
            } while (!unwound.await(100, TimeUnit.MILLISECONDS) && System.currentTimeMillis() < deadline);
        } catch (SQLException e) {
            out.accept("opsmv: interrupted: could not cancel the refresh's statements (" + e.getMessage()
                    + "); the next run drops what this one leaves");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void cancel(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(CANCEL)) {
            Array ids = c.createArrayOf("text", engine.sessions().toArray());
            ps.setArray(1, ids);
            ps.execute();
        }
    }

    @Override
    public void close() {
        unwound.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or has run: it returns now that the run is over
        }
    }
}
