package dev.opsmv.swap;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.swap.SideBySideSwap.SessionOpener;

/**
 * The ANALYZE of each new MV of a chain swap, on a session of its own while the main one goes on to the next
 * MV's REFRESH: ANALYZE takes SHARE UPDATE EXCLUSIVE on the MV it samples, which the next MV's REFRESH (reading
 * it) does not conflict with. Without a second session (none given, none to be had)
 * each ANALYZE runs in turn on the main session, as before.
 */
final class Analyzes implements AutoCloseable {
    private final Connection main;
    private final Connection session;
    private final ExecutorService worker;
    private final List<Future<?>> pending = new ArrayList<>();

    Analyzes(Connection main, SessionOpener opener) {
        this.main = main;
        Connection opened = null;
        if (opener != null) {
            try {
                opened = opener.open();
                opened.setAutoCommit(true);
            } catch (SQLException noSession) {
                opened = null; // a speed-up, not a condition of the swap
            }
        }
        this.session = opened;
        this.worker = opened == null ? null : Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "opsmv-swap-analyze");
            t.setDaemon(true);
            return t;
        });
    }

    void analyze(String target) throws SQLException {
        if (session == null) {
            exec(main, "ANALYZE " + target);
            return;
        }
        pending.add(worker.submit(() -> {
            exec(session, "ANALYZE " + target);
            return null;
        }));
    }

    /** Waits for every ANALYZE submitted; the first failure is thrown. */
    void await() throws SQLException {
        for (Future<?> f : pending) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while the new MVs were being analyzed", "57014", e);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof SQLException s) {
                    throw s;
                }
                throw new SQLException("ANALYZE of a new MV failed: " + e.getCause(), "XX000", e.getCause());
            }
        }
        pending.clear();
    }

    /** Cancels what still runs and closes the session. */
    @Override
    public void close() {
        if (session == null) {
            return;
        }
        try {
            session.unwrap(org.postgresql.PGConnection.class).cancelQuery();
        } catch (SQLException ignored) {
            // nothing of it runs any more
        }
        worker.shutdownNow();
        try {
            worker.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            session.close();
        } catch (SQLException ignored) {
            // closing a session that is gone
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
