package dev.opsmv.refresh;

import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import dev.opsmv.db.BlockerWatch;
import dev.opsmv.db.ClientCheck;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Durations;
import dev.opsmv.db.Session;
import dev.opsmv.swap.SideBySideSwap;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Refreshes MVs in dependency order, each in its own transaction, one runner per MV at a time
 * (advisory lock), and writes the whole truth to ops.mv_refresh_log. A failed MV keeps its data
 * (its transaction rolls back); the MVs downstream of it are SKIPPED; unrelated MVs go on.
 */
public final class RefreshEngine {
    public static final String APPLICATION_NAME = "opsmv-refresh";

    /**
     * The swap transaction's lock_timeout when --lock-timeout is not given: the longest a reader of the
     * MV can be queued behind one attempt of the swap (a reader already inside the MV makes it wait).
     * Longer than PostgreSQL's default deadlock_timeout (1s), after which PostgreSQL cancels an
     * autovacuum that holds up a lock request: a shorter wait would give up on every attempt instead.
     */
    public static final Duration DEFAULT_SWAP_LOCK_TIMEOUT = Duration.ofSeconds(2);

    /**
     * What a run was asked. Timeouts and wait may be null (none / do not wait); {@code swapSpaceLimit}: bytes a swap
     * may need free a second time before the MVs are refreshed CONCURRENTLY instead (null: no limit).
     */
    public record Options(RefreshMode mode, Duration statementTimeout, Duration lockTimeout, Duration maxWait, Long swapSpaceLimit) {
        public Options(RefreshMode mode, Duration statementTimeout, Duration lockTimeout, Duration maxWait) {
            this(mode, statementTimeout, lockTimeout, maxWait, null);
        }

        public static Options defaults() {
            return new Options(RefreshMode.AUTO, null, null, null);
        }

        Duration swapLockTimeout() {
            return lockTimeout != null ? lockTimeout : DEFAULT_SWAP_LOCK_TIMEOUT;
        }
    }

    /** What happened to one MV (mirrors its log row). */
    public record Outcome(String mv, String status, String method, String fallbackReason, Long rows, long millis, String message) {
    }

    /** What happened in one run. */
    public record Result(UUID runId, List<Outcome> outcomes, List<AbandonedRuns.Abandoned> abandoned, boolean stopped) {
        public boolean failed() {
            return outcomes.stream().anyMatch(o -> o.status().equals("ERROR") || o.status().equals("SKIPPED") && !o.message().contains("busy"));
        }

        public boolean busy() {
            return outcomes.stream().anyMatch(o -> o.status().equals("BUSY"));
        }

        /**
         * Every MV that failed gave up waiting for a lock (SQLSTATE 55P03: --lock-timeout, a swap's last attempt);
         * the run then exits as update and reindex do for a lock timeout, not as for a refresh that failed.
         */
        public boolean lockTimedOut() {
            List<Outcome> errors = outcomes.stream().filter(o -> o.status().equals("ERROR")).toList();
            // the MVs SKIPPED behind them follow from them
            return !errors.isEmpty() && errors.stream().allMatch(o -> o.message() != null && o.message().contains("[SQLSTATE 55P03]"));
        }
    }

    private final ConnectionSpec spec;
    private final Options options;
    private final Consumer<String> out;
    /** Every session this engine opened, as pid@backend_start (a pid alone may be another backend's by now). */
    private final java.util.Set<String> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public RefreshEngine(ConnectionSpec spec, Options options, Consumer<String> out) {
        this.spec = spec;
        this.options = options;
        this.out = out;
    }

    /** The sessions this engine has opened (work, index builds, ANALYZE), as {@link RefreshInterruption} cancels them. */
    public java.util.Set<String> sessions() {
        return java.util.Set.copyOf(sessions);
    }

    static String identity(Connection c) throws SQLException {
        return Session.text(c, "SELECT pid::text || '@' || backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()");
    }

    /** Plans (catalog graph, names resolved) and refreshes; {@code stop} is checked between MVs. */
    public Result run(Collection<String> names, boolean all, boolean cascade, BooleanSupplier stop) throws SQLException {
        try (Connection log = spec.open(APPLICATION_NAME + "-log"); Connection work = spec.open(APPLICATION_NAME)) {
            log.setAutoCommit(true);
            work.setAutoCommit(true);
            sessions.add(identity(work));
            RefreshPlan plan = RefreshPlan.build(work, names, all, cascade, options.mode(), options.swapSpaceLimit());
            return new Run(plan, log, work).execute(stop);
        }
    }

    /** SET {@code setting} on {@code session} for the session; nothing when {@code d} is null. */
    private final class Run {
        final RefreshPlan plan;
        final Connection logConn;
        final Connection work;
        final UUID runId = UUID.randomUUID();
        final RefreshLog log;
        final int workPid;
        final boolean functionAvailable;
        final Map<String, String> blocked = new LinkedHashMap<>(); // failed or busy MV -> "failed" | "busy"
        final List<Outcome> outcomes = new ArrayList<>();
        final List<AbandonedRuns.Abandoned> abandoned = new ArrayList<>();

        Run(RefreshPlan plan, Connection logConn, Connection work) throws SQLException {
            this.plan = plan;
            this.logConn = logConn;
            this.work = work;
            this.log = new RefreshLog(logConn, runId, hostName(), APPLICATION_NAME);
            this.workPid = Math.toIntExact(Session.number(work, 0, "SELECT pg_backend_pid()"));
            if (Session.number(work, 0, "SELECT (to_regprocedure('ops.opsmv_log_running(uuid,text,text,text,text,integer,text,text)') IS NULL)::int") == 1) {
                throw new IllegalStateException("the refresh protocol's functions (bundle release v1.3) are missing from this database: "
                        + "run 'opsmv update' first");
            }
            this.functionAvailable = Session.number(work, 0, "SELECT (to_regprocedure('ops.opsmv_refresh(text,boolean)') IS NOT NULL)::int") == 1;
            ClientCheck.endWithThisClient(work, ClientCheck.INTERVAL);
        }

        Result execute(BooleanSupplier stop) throws SQLException {
            abandoned.addAll(AbandonedRuns.sweep(logConn, plan.order()));
            abandoned.forEach(a -> out.accept("ABANDONED " + a.mv() + ": RUNNING row " + a.refreshId() + " of backend pid "
                    + a.backendPid() + " (started " + a.startedAt() + ") belonged to a runner that died"));
            List<String> order = plan.order();
            for (int i = 0; i < order.size(); i++) {
                if (stop.getAsBoolean()) {
                    out.accept("stopping: " + (order.size() - i) + " materialized view(s) left for the next run");
                    return new Result(runId, outcomes, abandoned, true);
                }
                String mv = order.get(i);
                if (!plan.chain(mv).isEmpty()) {
                    refreshChain(mv, plan.chain(mv));
                } else if (plan.chainOf(mv) == null) {
                    refreshOne(mv);
                }
            }
            return new Result(runId, outcomes, abandoned, false);
        }

        void refreshOne(String mv) throws SQLException {
            for (Map.Entry<String, String> b : blocked.entrySet()) {
                if (plan.graph().downstreamOf(b.getKey()).contains(mv)) {
                    String reason = "upstream " + b.getKey() + " " + b.getValue();
                    log.finalRow(mv, "SKIPPED", null, reason, null);
                    record(new Outcome(mv, "SKIPPED", null, null, null, 0, reason));
                    return;
                }
            }
            if (!acquire(mv)) {
                // The holder may be another refresh or `opsmv reindex` (which takes the same lock): say which.
                String holder = RefreshLock.holder(logConn, mv);
                String msg = "busy: another session holds the refresh lock of " + mv + (holder == null ? "" : " (" + holder + ")");
                log.finalRow(mv, "BUSY", null, msg, workPid);
                record(new Outcome(mv, "BUSY", null, null, null, 0, msg));
                blocked.put(mv, "busy");
                return;
            }
            try {
                abandoned.addAll(AbandonedRuns.sweepWhileLocked(logConn, mv));
                if (Session.number(logConn, 0, "SELECT count(*)::int FROM ops.mv_refresh_log WHERE status = 'RUNNING' "
                        + "AND quote_ident(schema_name) || '.' || quote_ident(mv_name) = ?", mv) > 0) {
                    // A live session refreshes it without our lock (e.g. an old runner): do not add a second RUNNING row.
                    String msg = "busy: a RUNNING refresh of " + mv + " by a live backend is in ops.mv_refresh_log";
                    log.finalRow(mv, "BUSY", null, msg, workPid);
                    record(new Outcome(mv, "BUSY", null, null, null, 0, msg));
                    blocked.put(mv, "busy");
                    return;
                }
                refreshLocked(mv);
            } finally {
                unlock(mv);
            }
        }

        /**
         * An MV that others read, swapped with its downstream subgraph ({@link SideBySideSwap#refreshChain}):
         * every MV of it under its refresh lock, a RUNNING row each, their OK rows committed with the swap,
         * all with this run's run_id; a failure logs ERROR for each and leaves the whole subgraph serving.
         */
        void refreshChain(String root, List<String> members) throws SQLException {
            long t0 = System.nanoTime();
            for (Map.Entry<String, String> b : blocked.entrySet()) {
                if (plan.graph().downstreamOf(b.getKey()).contains(root)) {
                    for (String mv : members) {
                        String reason = "upstream " + b.getKey() + " " + b.getValue();
                        log.finalRow(mv, "SKIPPED", null, reason, null);
                        record(new Outcome(mv, "SKIPPED", null, null, null, 0, reason));
                    }
                    return;
                }
            }
            List<String> locked = new ArrayList<>();
            try {
                for (String mv : members) {
                    if (!acquire(mv)) {
                        String holder = RefreshLock.holder(logConn, mv);
                        String msg = "busy: another session holds the refresh lock of " + mv + (holder == null ? "" : " (" + holder + ")");
                        for (String m : members) {
                            log.finalRow(m, "BUSY", null, msg, workPid);
                            record(new Outcome(m, "BUSY", null, null, null, 0, msg));
                        }
                        blocked.put(root, "busy");
                        return;
                    }
                    locked.add(mv);
                }
                for (String mv : members) {
                    // as for one MV: a dead runner's RUNNING row is ABANDONED now that its lock is ours; a live one's is BUSY
                    abandoned.addAll(AbandonedRuns.sweepWhileLocked(logConn, mv));
                    if (Session.number(logConn, 0, "SELECT count(*)::int FROM ops.mv_refresh_log WHERE status = 'RUNNING' "
                            + "AND quote_ident(schema_name) || '.' || quote_ident(mv_name) = ?", mv) > 0) {
                        String msg = "busy: a RUNNING refresh of " + mv + " by a live backend is in ops.mv_refresh_log";
                        for (String m : members) {
                            log.finalRow(m, "BUSY", null, msg, workPid);
                            record(new Outcome(m, "BUSY", null, null, null, 0, msg));
                        }
                        blocked.put(root, "busy");
                        return;
                    }
                }
                Map<String, Long> ids = new LinkedHashMap<>();
                RefreshMethod swap = new RefreshMethod(RefreshMethod.SWAP, null, null, "chain swap of " + root);
                for (String mv : members) {
                    ids.put(mv, log.running(mv, swap, workPid));
                }
                String[] name = RefreshLog.split(root);
                try {
                    setSession("statement_timeout", options.statementTimeout());
                    setSession("lock_timeout", options.lockTimeout());
                    SideBySideSwap.ChainSwapped s = new SideBySideSwap(work, options.swapLockTimeout(), this::indexSession)
                            .refreshChain(name[0], name[1], (tx, rows) -> {
                                for (String mv : members) {
                                    RefreshLog.ok(tx, ids.get(mv), rows.getOrDefault(RefreshLog.split(mv)[1], 0L), "chain swap of " + root);
                                }
                            });
                    String note = "chain swap of " + root + " (" + s.members().size() + " relations): swap lock held " + s.swapMillis()
                            + " ms" + (s.attempts() > 1 ? ", attempt " + s.attempts() + " of " + SideBySideSwap.SWAP_ATTEMPTS : "");
                    long millis = (System.nanoTime() - t0) / 1_000_000;
                    for (String mv : members) {
                        try {
                            log.note(ids.get(mv), note);
                        } catch (SQLException lost) {
                            // the OK row stands
                        }
                        record(new Outcome(mv, "OK", RefreshMethod.SWAP, null, s.rows().get(RefreshLog.split(mv)[1]), millis, note));
                    }
                } catch (SQLException e) {
                    // the scratch schema and what was built in it are dropped: the old subgraph serves on
                    String msg = message(e);
                    long millis = (System.nanoTime() - t0) / 1_000_000;
                    for (String mv : members) {
                        log.error(ids.get(mv), msg);
                        record(new Outcome(mv, "ERROR", RefreshMethod.SWAP, null, null, millis, msg));
                    }
                    blocked.put(root, "failed");
                } finally {
                    resetSession("statement_timeout", options.statementTimeout());
                    resetSession("lock_timeout", options.lockTimeout());
                }
            } finally {
                for (String mv : locked) {
                    unlock(mv);
                }
            }
        }

        void refreshLocked(String mv) throws SQLException {
            long t0 = System.nanoTime();
            work.setAutoCommit(false);
            RefreshMethod m;
            try {
                setLocal("statement_timeout", options.statementTimeout());
                setLocal("lock_timeout", options.lockTimeout());
                m = plan.decideNow(work, mv, options.mode());
            } catch (SQLException e) {
                work.rollback();
                work.setAutoCommit(true);
                throw e;
            }
            if (m.refusal() != null) {
                work.rollback();
                work.setAutoCommit(true);
                String asked = options.mode() == RefreshMode.SWAP ? RefreshMethod.SWAP : RefreshMethod.CONCURRENTLY;
                log.finalRow(mv, "ERROR", asked, m.refusal(), workPid);
                record(new Outcome(mv, "ERROR", asked, null, null, 0, m.refusal()));
                blocked.put(mv, "failed");
                return;
            }
            if (RefreshMethod.SWAP.equals(m.method())) {
                work.rollback(); // the swap runs its own statements and transaction
                work.setAutoCommit(true);
                swapRefresh(mv, m, t0);
                return;
            }
            long id = log.running(mv, m, workPid);
            try {
                long rows = refreshStatement(mv, m);
                RefreshLog.ok(work, id, rows);
                work.commit();
                record(new Outcome(mv, "OK", m.method(), m.fallbackReason(), rows, (System.nanoTime() - t0) / 1_000_000, null));
            } catch (SQLException e) {
                String msg = "55P03".equals(e.getSQLState()) ? lockTimedOut(logConn, mv, e) : message(e);
                try {
                    safeRollback();
                } catch (SQLException sessionGone) {
                    // The work session ended (restart, pg_terminate_backend): its transaction is gone with it.
                    // The row must not stay RUNNING as if the refresh went on; the run cannot go on without a session.
                    log.error(id, msg);
                    throw e;
                }
                log.error(id, msg);
                record(new Outcome(mv, "ERROR", m.method(), m.fallbackReason(), null, (System.nanoTime() - t0) / 1_000_000, msg));
                blocked.put(mv, "failed");
            } finally {
                if (!work.isClosed()) {
                    work.setAutoCommit(true);
                }
            }
        }

        /**
         * Rebuilt beside the serving MV and swapped in ({@link SideBySideSwap#refresh}). The build runs in
         * autocommit, so the timeouts are set for the session and reset after; the OK row commits with the
         * swap. Its fallback_reason carries how long the swap held the MV's lock (the log has no column of
         * its own for it), rewritten after the commit to include the commit.
         */
        void swapRefresh(String mv, RefreshMethod m, long t0) throws SQLException {
            long id = log.running(mv, m, workPid);
            String[] name = RefreshLog.split(mv);
            try {
                setSession("statement_timeout", options.statementTimeout());
                setSession("lock_timeout", options.lockTimeout());
                SideBySideSwap.Swapped s = new SideBySideSwap(work, options.swapLockTimeout(), this::indexSession)
                        .refresh(name[0], name[1], (tx, swapping) -> RefreshLog.ok(tx, id, swapping.rows(), lockNote(swapping)));
                try {
                    log.note(id, lockNote(s));
                } catch (SQLException lost) {
                    // the OK row stands, with the lock time measured before the commit
                }
                record(new Outcome(mv, "OK", RefreshMethod.SWAP, null, s.rows(), (System.nanoTime() - t0) / 1_000_000, lockNote(s)));
            } catch (SQLException e) {
                // SideBySideSwap has rolled back its swap transaction and dropped what it built: the old MV serves on
                String msg = message(e);
                log.error(id, msg);
                record(new Outcome(mv, "ERROR", RefreshMethod.SWAP, null, null, (System.nanoTime() - t0) / 1_000_000, msg));
                blocked.put(mv, "failed");
            } finally {
                resetSession("statement_timeout", options.statementTimeout());
                resetSession("lock_timeout", options.lockTimeout());
            }
        }

        /** A second session for a swap's index builds: the work session's timeouts, and it ends if this runner dies. */
        Connection indexSession() throws SQLException {
            Connection k = spec.open(APPLICATION_NAME + "-index");
            try {
                Session.set(k, "statement_timeout", options.statementTimeout());
                Session.set(k, "lock_timeout", options.lockTimeout());
                ClientCheck.endWithThisClient(k, ClientCheck.INTERVAL);
                sessions.add(identity(k));
            } catch (SQLException e) {
                k.close();
                throw e;
            }
            return k;
        }

        void setSession(String setting, Duration d) throws SQLException {
            Session.set(work, setting, d);
        }

        void resetSession(String setting, Duration d) throws SQLException {
            if (d != null && !work.isClosed()) {
                Session.reset(work, setting);
            }
        }

        /** REFRESH and count, in the open transaction; through ops.opsmv_refresh when we do not own the MV. */
        long refreshStatement(String mv, RefreshMethod m) throws SQLException {
            boolean concurrently = RefreshMethod.CONCURRENTLY.equals(m.method());
            if (functionAvailable && Session.number(work, 0,
                    "SELECT (NOT pg_has_role(current_user, relowner, 'USAGE'))::int FROM pg_class WHERE oid = ?::regclass", mv) == 1) {
                try (PreparedStatement ps = work.prepareStatement("SELECT ops.opsmv_refresh(?, ?)")) {
                    ps.setString(1, mv);
                    ps.setBoolean(2, concurrently);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        return rs.getLong(1);
                    }
                }
            }
            try (Statement st = work.createStatement()) {
                st.execute("REFRESH MATERIALIZED VIEW " + (concurrently ? "CONCURRENTLY " : "") + mv);
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + mv)) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        }

        void setLocal(String setting, Duration d) throws SQLException {
            Session.setLocal(work, setting, d);
        }

        boolean acquire(String mv) throws SQLException {
            long deadline = options.maxWait() == null ? 0 : System.nanoTime() + options.maxWait().toNanos();
            boolean said = false;
            while (true) {
                if (Session.number(work, 0, RefreshLock.TRY_LOCK, mv) == 1) {
                    return true;
                }
                if (System.nanoTime() >= deadline) {
                    return false;
                }
                if (!said) {
                    out.accept("waiting up to " + Durations.human(options.maxWait()) + " for the refresh lock of " + mv);
                    said = true;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }

        void unlock(String mv) {
            try (PreparedStatement ps = work.prepareStatement(RefreshLock.UNLOCK)) {
                ps.setString(1, mv);
                ps.execute();
            } catch (SQLException e) {
                // The connection is gone: so is its session lock.
            }
        }

        void safeRollback() throws SQLException {
            try {
                work.rollback();
            } catch (SQLException e) {
                if (work.isClosed() || !work.isValid(5)) {
                    throw e;
                }
            }
        }

        void record(Outcome o) {
            outcomes.add(o);
            StringBuilder line = new StringBuilder(String.format("%-9s %s", o.status(), o.mv()));
            if (o.method() != null) {
                line.append("  ").append(o.method());
            }
            if (o.fallbackReason() != null) {
                line.append(" (fallback: ").append(o.fallbackReason()).append(')');
            }
            if (o.rows() != null) {
                line.append("  ").append(o.rows()).append(" rows  ").append(o.millis()).append(" ms");
            }
            if (o.message() != null) {
                line.append("  ").append(o.message());
            }
            out.accept(line.toString());
        }
    }

    /** What the log keeps of a swap: how long readers could have been queued behind it. */
    static String lockNote(SideBySideSwap.Swapped s) {
        return "swap lock held " + s.lockHeldMillis() + " ms (waited " + s.lockWaitMillis() + " ms"
                + (s.attempts() > 1 ? ", attempt " + s.attempts() + " of " + SideBySideSwap.SWAP_ATTEMPTS : "") + ")";
    }

    /**
     * A REFRESH that gave up waiting for its MV's lock, with who holds the lock (asked on another session than the one whose
     * transaction the timeout aborted), as update and reindex name the blocker.
     */
    private String lockTimedOut(Connection lookup, String mv, SQLException e) {
        StringBuilder sb = new StringBuilder("lock timeout (")
                .append(options.lockTimeout() == null ? "the server's lock_timeout" : Durations.human(options.lockTimeout()))
                .append(") on ").append(mv);
        try {
            List<BlockerWatch.Blocker> held = BlockerWatch.holders(lookup, Session.number(lookup, 0, "SELECT to_regclass(?)::oid::bigint", mv));
            if (!held.isEmpty()) {
                sb.append(", held by ").append(held.get(0).describe()).append(" in ").append(held.get(0).waitedFor());
            }
        } catch (SQLException lookupFailed) {
            // the lock timeout is the error to report; who held it is a courtesy
        }
        return sb.append(": ").append(message(e)).toString();
    }

    /** The server's one-line message with detail and SQLSTATE, for the log and the terminal. */
    static String message(SQLException e) {
        String msg = e.getMessage();
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            ServerErrorMessage s = p.getServerErrorMessage();
            msg = s.getMessage() + (s.getDetail() == null ? "" : " (" + s.getDetail() + ")");
        }
        msg = msg == null ? e.getClass().getSimpleName() : msg.replaceAll("\\s*\\R\\s*", " ").trim();
        return e.getSQLState() == null ? msg : msg + " [SQLSTATE " + e.getSQLState() + "]";
    }


    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            String h = System.getenv("HOSTNAME");
            return h == null ? "unknown" : h;
        }
    }
}
