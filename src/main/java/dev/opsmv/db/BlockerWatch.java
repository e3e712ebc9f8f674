package dev.opsmv.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Watches, from a separate connection, which backends block one backend (pg_blocking_pids), so
 * that a lock-timeout error can name the blocker. By the time the timeout error reaches us the
 * blocker may be gone, hence the polling while the wait lasts, plus one look right after.
 * The watcher runs only short autocommit queries: it never holds a transaction open (a concurrent
 * index build waits for every older transaction of its database).
 */
public final class BlockerWatch implements AutoCloseable {
    /** One blocking backend, as pg_stat_activity showed it. */
    public record Blocker(int pid, String application, String user, String state, Long transactionSeconds,
                          String query, String waitedFor) {
        /** "pid 123 (application 'psql', user ops, state 'idle in transaction', transaction open 42 s, query 'LOCK TABLE …')". */
        public String describe() {
            StringBuilder sb = new StringBuilder("pid ").append(pid).append(" (application '").append(application)
                    .append("', user ").append(user).append(", state '").append(state).append('\'');
            if (transactionSeconds != null) {
                sb.append(", transaction open ").append(transactionSeconds).append(" s");
            }
            sb.append(", query '").append(query).append("')");
            return sb.toString();
        }
    }

    /** What a Blocker shows of a backend b of pg_stat_activity, in Blocker's order; the last column is the query's own. */
    private static final String BACKEND = """
            SELECT b.pid,
                   coalesce(b.application_name, ''),
                   coalesce(b.usename::text, ''),
                   coalesce(b.state, ''),
                   extract(epoch FROM now() - b.xact_start)::bigint,
                   left(regexp_replace(coalesce(b.query, ''), '\\s+', ' ', 'g'), 120),
            """;

    private static final String QUERY = BACKEND + """
                   (SELECT string_agg(l.mode || ' on ' || coalesce(l.relation::regclass::text, l.locktype), ', ')
                      FROM pg_locks l WHERE l.pid = ? AND NOT l.granted)
            FROM pg_stat_activity b
            WHERE b.pid = ANY (pg_blocking_pids(?))
            ORDER BY b.xact_start NULLS LAST, b.pid
            """;

    private static final long MAX_PAUSE_MILLIS = 5_000;

    private final Connection connection;
    private final int watchedPid;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile List<Blocker> lastSeen = List.of();

    private BlockerWatch(Connection connection, int watchedPid, long pollMillis) {
        this.connection = connection;
        this.watchedPid = watchedPid;
        this.thread = new Thread(() -> poll(pollMillis), "opsmv-blocker-watch");
        this.thread.setDaemon(true);
    }

    /** Starts watching {@code watchedPid} on a new connection to {@code spec}. */
    public static BlockerWatch start(ConnectionSpec spec, int watchedPid) throws SQLException {
        BlockerWatch w = new BlockerWatch(spec.open("opsmv-lock-watch"), watchedPid, 200);
        w.thread.start();
        return w;
    }

    private static final String HOLDERS = BACKEND + """
                   string_agg(DISTINCT l.mode, ', ')
            FROM pg_locks l JOIN pg_stat_activity b ON b.pid = l.pid
            WHERE l.locktype = 'relation' AND l.relation = ? AND l.granted AND l.pid <> pg_backend_pid()
            GROUP BY 1, 2, 3, 4, 5, 6, b.xact_start
            ORDER BY b.xact_start NULLS LAST, b.pid
            """;

    /**
     * The sessions holding a lock on the relation {@code oid} now (waitedFor: the modes they hold): who a
     * statement that gave up on that relation's lock waited for, asked after the wait, when pg_blocking_pids no
     * longer knows.
     */
    public static List<Blocker> holders(Connection c, long oid) throws SQLException {
        List<Blocker> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(HOLDERS)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long tx = rs.getLong(5);
                    out.add(new Blocker(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.wasNull() ? null : tx, rs.getString(6), rs.getString(7)));
                }
            }
        }
        return out;
    }

    /** The backend pid of a connection (to watch it). */
    public static int backendPid(Connection c) throws SQLException {
        return Math.toIntExact(Session.number(c, 0, "SELECT pg_backend_pid()"));
    }

    /** Looks now; falls back to the last blockers seen while waiting. */
    public synchronized List<Blocker> nowOrLastSeen() {
        try {
            List<Blocker> now = query();
            return now.isEmpty() ? lastSeen : now;
        } catch (SQLException e) {
            return lastSeen;
        }
    }

    private void poll(long pollMillis) {
        long pause = pollMillis;
        while (!stopped) {
            try {
                synchronized (this) {
                    List<Blocker> now = query();
                    if (!now.isEmpty()) {
                        lastSeen = now;
                    }
                }
                pause = pollMillis;
            } catch (SQLException e) {
                if (stopped || !usable()) {
                    // A dead connection never answers again; what was seen stays for nowOrLastSeen.
                    return;
                }
                // A failing query must not turn the watch into a busy loop beside the update it watches.
                pause = Math.min(pause * 2, MAX_PAUSE_MILLIS);
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private boolean usable() {
        try {
            return !connection.isClosed() && connection.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    /** Whether the watch still polls (false once closed or once its connection died). */
    boolean polling() {
        return thread.isAlive();
    }

    private List<Blocker> query() throws SQLException {
        List<Blocker> out = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(QUERY)) {
            ps.setInt(1, watchedPid);
            ps.setInt(2, watchedPid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long tx = rs.getLong(5);
                    Long txSeconds = rs.wasNull() ? null : tx;
                    out.add(new Blocker(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            txSeconds, rs.getString(6), rs.getString(7)));
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            connection.close();
        } catch (SQLException ignored) {
            // the watcher's connection is ours and disposable
        }
    }
}
