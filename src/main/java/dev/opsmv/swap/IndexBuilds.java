package dev.opsmv.swap;

import static dev.opsmv.swap.RelationCatalog.ident;
import static dev.opsmv.swap.RelationCatalog.q;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.UnaryOperator;

import dev.opsmv.db.Session;
import dev.opsmv.swap.SideBySideSwap.SessionOpener;

/** The new MV's indexes, built under their temporary names, on one session or two at once. */
final class IndexBuilds {
    private final Connection c;
    private final SessionOpener indexSession;
    private final Shared shared;
    private final UnaryOperator<String> builtName;

    /** @param builtName the name an index has while it is built, from its final name */
    IndexBuilds(Connection c, SessionOpener indexSession, UnaryOperator<String> builtName) {
        this.c = c;
        this.indexSession = indexSession;
        this.shared = null;
        this.builtName = builtName;
    }

    /** The indexes of one MV of several, on the second session they all share (a chain swap). */
    IndexBuilds(Connection c, Shared shared, UnaryOperator<String> builtName) {
        this.c = c;
        this.indexSession = null;
        this.shared = shared;
        this.builtName = builtName;
    }

    /**
     * One second session for every MV of a chain swap: opened for the first MV with two indexes or more, closed
     * with the chain. A new backend for each MV paid its connection, its settings and a cold catalog cache each time.
     */
    static final class Shared implements AutoCloseable {
        private final SessionOpener opener;
        private Connection session;
        private boolean unavailable;

        Shared(SessionOpener opener) {
            this.opener = opener;
        }

        private Connection get() {
            if (session == null && !unavailable && opener != null) {
                try {
                    session = opener.open();
                    session.setAutoCommit(true);
                } catch (SQLException noSecondSession) {
                    unavailable = true; // a speed-up, not a condition of the swap
                    session = null;
                }
            }
            return session;
        }

        @Override
        public void close() {
            if (session != null) {
                try {
                    session.close();
                } catch (SQLException gone) {
                    // its backend ends with the connection either way
                }
                session = null;
            }
        }
    }

    /**
     * The new MV's indexes, under their temporary names: on this session alone, or on this one and a second
     * one taking the next index from a shared queue. A failure on either side stops both (the other's
     * running build is cancelled) and is thrown once both have stopped, so the caller's cleanup (DROP of the
     * new MV) never waits behind a build still running.
     */
    void build(String schema, String temp, List<IndexSpec> indexes) throws SQLException {
        Connection second = indexes.size() < 2 ? null : shared != null ? shared.get() : secondSession();
        if (second == null) {
            for (IndexSpec i : indexes) {
                createIndex(c, schema, temp, i);
            }
            return;
        }
        java.util.concurrent.ConcurrentLinkedQueue<IndexSpec> queue = new java.util.concurrent.ConcurrentLinkedQueue<>(indexes);
        java.util.concurrent.atomic.AtomicReference<SQLException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            second.setAutoCommit(true);
            Thread helper = new Thread(() -> drain(second, schema, temp, queue, failure, c), "opsmv-swap-index");
            helper.setDaemon(true);
            helper.start();
            drain(c, schema, temp, queue, failure, second);
            try {
                helper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel(second);
                joinQuietly(helper);
                throw new SQLException("interrupted while the new MV's indexes were being built", "57014", e);
            }
        } finally {
            if (shared == null) {
                second.close();
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    /** The session for index builds beside this one; null when none was given or none can be opened. */
    private Connection secondSession() {
        if (indexSession == null) {
            return null;
        }
        try {
            return indexSession.open();
        } catch (SQLException noSecondSession) {
            // no connection slot left, say: the second session is a speed-up, not a condition of the refresh
            return null;
        }
    }

    /** Builds indexes from {@code queue} on {@code session} until it is empty or either side failed; cancels {@code other} on a failure. */
    private void drain(Connection session, String schema, String temp, java.util.Queue<IndexSpec> queue,
                              java.util.concurrent.atomic.AtomicReference<SQLException> failure, Connection other) {
        IndexSpec next;
        while (failure.get() == null && (next = queue.poll()) != null) {
            try {
                createIndex(session, schema, temp, next);
            } catch (SQLException e) {
                if (failure.compareAndSet(null, e)) {
                    cancel(other);
                }
                return;
            }
        }
    }

    private void createIndex(Connection session, String schema, String temp, IndexSpec i) throws SQLException {
        String sql = "CREATE " + (i.unique() ? "UNIQUE " : "") + "INDEX " + ident(builtName.apply(i.name()))
                + " ON " + q(schema, temp) + " " + i.keySql();
        if (i.tablespace() == null) {
            exec(session, sql);
            return;
        }
        // CREATE INDEX takes TABLESPACE before its WHERE clause; the session default puts it there without parsing keySql
        Session.set(session, "default_tablespace", i.tablespace());
        try {
            exec(session, sql);
        } finally {
            Session.reset(session, "default_tablespace");
        }
    }

    /** Asks the server to cancel whatever {@code session} is running (a no-op when it runs nothing). */
    private static void cancel(Connection session) {
        try {
            session.unwrap(org.postgresql.PGConnection.class).cancelQuery();
        } catch (SQLException ignored) {
            // the session is gone already: nothing of it is running
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void exec(Connection session, String sql) throws SQLException {
        try (Statement st = session.createStatement()) {
            st.execute(sql);
        }
    }
}
