package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import dev.opsmv.db.BlockerWatch;
import dev.opsmv.db.ClientCheck;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Durations;
import dev.opsmv.db.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code opsmv reindex}: rebuilds the indexes of MVs of schema ops with {@code REINDEX TABLE CONCURRENTLY}.
 *
 * <p>The runbook's {@code REINDEX MATERIALIZED VIEW} is not PostgreSQL syntax; {@code REINDEX TABLE} accepts
 * an MV, and CONCURRENTLY (PostgreSQL 12+) builds each index anew beside the old one and swaps them under
 * the same name, holding only SHARE UPDATE EXCLUSIVE on the MV: readers (the endpoint) are never blocked,
 * only DDL, VACUUM and REFRESH wait.
 *
 * <p>Each MV is rebuilt under its refresh advisory lock ({@link RefreshLock}): a refresh and a reindex of
 * the same MV exclude each other with a clear BUSY (naming the holder) instead of one queueing behind the
 * other's table lock. The sizes of each index before and after (pg_relation_size) are printed and logged.
 *
 * <p>A REINDEX CONCURRENTLY that fails half-way (lock timeout, cancel, a runner killed) leaves INVALID
 * {@code <index>_ccnew} / {@code _ccold} copies that every write to the MV keeps maintaining for nothing
 * and that REINDEX TABLE CONCURRENTLY then skips; they are dropped (CONCURRENTLY) right after a failure, and
 * before the rebuild when an earlier run left some.
 */
public final class Reindexer {
    public static final String APPLICATION_NAME = "opsmv-reindex";
    /** REINDEX … CONCURRENTLY exists from PostgreSQL 12 on. */
    public static final int MIN_SERVER_VERSION_NUM = 120000;
    private static final Logger LOG = LoggerFactory.getLogger(Reindexer.class);
    private static final String LEFTOVER = "_cc(new|old)[0-9]*$";

    /** {@code lockTimeout}: for the REINDEX's lock waits (null: wait; it blocks no reader while it waits). */
    public record Options(Duration lockTimeout) {
    }

    /** One index of an MV: its size before the rebuild and after (null when it was not rebuilt). */
    public record IndexSize(String index, boolean valid, long bytesBefore, String before, Long bytesAfter, String after) {
    }

    public enum Status { OK, BUSY, LOCK_TIMEOUT, ERROR }

    /** What happened to one MV. */
    public record Outcome(String mv, Status status, List<IndexSize> indexes, long millis, String message) {
    }

    public record Result(List<Outcome> outcomes) {
        public boolean any(Status s) {
            return outcomes.stream().anyMatch(o -> o.status() == s);
        }

        public long count(Status s) {
            return outcomes.stream().filter(o -> o.status() == s).count();
        }
    }

    /** The server predates REINDEX … CONCURRENTLY. */
    public static final class ServerTooOld extends IllegalStateException {
        ServerTooOld(String message) {
            super(message);
        }
    }

    private final ConnectionSpec spec;
    private final Options options;
    private final Consumer<String> out;

    public Reindexer(ConnectionSpec spec, Options options, Consumer<String> out) {
        this.spec = spec;
        this.options = options;
        this.out = out;
    }

    /**
     * Rebuilds the named MVs ("mv_x" or "ops.mv_x"), or every MV of schema ops with {@code all}, one after
     * the other; an MV that is busy or fails does not stop the others.
     *
     * @throws RefreshPlan.UnknownMv a name that is not an MV of schema ops (nothing is rebuilt)
     * @throws ServerTooOld          PostgreSQL 11 or older (nothing is rebuilt)
     */
    public Result run(Collection<String> names, boolean all) throws SQLException {
        try (Connection work = spec.open(APPLICATION_NAME)) {
            work.setAutoCommit(true); // REINDEX … CONCURRENTLY cannot run inside a transaction block
            requireConcurrentReindex(Math.toIntExact(Session.number(work, 0, "SELECT current_setting('server_version_num')::int")),
                    Session.text(work, "SELECT current_setting('server_version')"));
            List<String> mvs = resolve(work, names, all);
            // a killed runner's rebuild stops (its leftovers the next run drops) instead of holding the MV's lock
            ClientCheck.endWithThisClient(work, ClientCheck.INTERVAL);
            List<Outcome> outcomes = new ArrayList<>();
            for (String mv : mvs) {
                outcomes.add(reindexOne(work, mv));
            }
            return new Result(outcomes);
        }
    }

    /** Refuses servers without REINDEX … CONCURRENTLY, naming the version and the blocking alternative. */
    static void requireConcurrentReindex(int serverVersionNum, String serverVersion) {
        if (serverVersionNum < MIN_SERVER_VERSION_NUM) {
            throw new ServerTooOld("REINDEX TABLE CONCURRENTLY needs PostgreSQL 12 or later and this server is " + serverVersion
                    + "; nothing was rebuilt. On this server only the blocking form exists (REINDEX TABLE ops.<mv> blocks "
                    + "every reader of the MV while it runs): use it in a maintenance window");
        }
    }

    /** The MVs to rebuild, as quote_ident'ed "ops.name" (the refresh lock's spelling), in the order given or by name. */
    static List<String> resolve(Connection c, Collection<String> names, boolean all) throws SQLException {
        Map<String, String> known = new LinkedHashMap<>(); // relname -> ops.quoted
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'm' AND n.nspname = 'ops'
                ORDER BY c.relname""")) {
            while (rs.next()) {
                known.put(rs.getString(1), rs.getString(2));
            }
        }
        Set<String> out = new LinkedHashSet<>();
        for (String name : names) {
            String n = name.trim();
            String bare = n.startsWith("ops.") ? n.substring(4) : n;
            if (bare.length() > 1 && bare.startsWith("\"") && bare.endsWith("\"")) {
                bare = bare.substring(1, bare.length() - 1).replace("\"\"", "\"");
            }
            String mv = known.get(bare);
            if (mv == null) {
                throw new RefreshPlan.UnknownMv("unknown materialized view '" + name + "': not a materialized view of schema ops (known: "
                        + (known.isEmpty() ? "none: is the bundle deployed?" : String.join(", ", known.keySet())) + ")");
            }
            out.add(mv);
        }
        if (all) {
            if (known.isEmpty()) {
                throw new RefreshPlan.UnknownMv("--all: schema ops holds no materialized view (is the bundle deployed?)");
            }
            out.addAll(known.values());
        }
        return List.copyOf(out);
    }

    private Outcome reindexOne(Connection work, String mv) throws SQLException {
        long t0 = System.nanoTime();
        if (Session.number(work, 0, RefreshLock.TRY_LOCK, mv) != 1) {
            String holder = RefreshLock.holder(work, mv);
            String msg = "a refresh (or another reindex) holds its refresh lock" + (holder == null ? "" : " (" + holder + ")")
                    + ": not reindexed; run it again once that has finished";
            return finish(new Outcome(mv, Status.BUSY, List.of(), 0, msg));
        }
        try {
            List<String> leftovers;
            try {
                leftovers = dropLeftovers(work, mv);
            } catch (SQLException e) {
                return finish(new Outcome(mv, Status.ERROR, List.of(), millis(t0),
                        "cannot drop the INVALID leftovers of an interrupted REINDEX CONCURRENTLY: " + RefreshEngine.message(e)));
            }
            for (String l : leftovers) {
                say("  dropped " + l + ": INVALID leftover of an interrupted REINDEX CONCURRENTLY (writes maintained it for nothing)");
            }
            Map<String, IndexSize> before = indexes(work, mv);
            say("REINDEX TABLE CONCURRENTLY " + mv + " (" + before.size() + " index" + (before.size() == 1 ? "" : "es") + ")");
            List<String> notes = new ArrayList<>();
            // With a lock timeout, watch who we wait for, so that the timeout can name the blocker.
            BlockerWatch watch = options.lockTimeout() == null ? null : BlockerWatch.start(spec, BlockerWatch.backendPid(work));
            try {
                notes.addAll(reindex(work, mv));
            } catch (SQLException e) {
                return failed(work, mv, e, t0, before, watch == null ? List.of() : watch.nowOrLastSeen());
            } finally {
                if (watch != null) {
                    watch.close();
                }
            }
            Map<String, IndexSize> after = indexes(work, mv);
            List<IndexSize> sizes = new ArrayList<>();
            long totalBefore = 0;
            long totalAfter = 0;
            for (IndexSize b : before.values()) {
                IndexSize a = after.get(b.index());
                IndexSize s = new IndexSize(b.index(), a != null && a.valid(), b.bytesBefore(), b.before(),
                        a == null ? null : a.bytesBefore(), a == null ? null : a.before());
                sizes.add(s);
                totalBefore += b.bytesBefore();
                totalAfter += a == null ? 0 : a.bytesBefore();
                say("  " + line(s, b.valid()));
            }
            notes.forEach(n -> say("  note: " + n));
            String msg = sizes.size() + " index" + (sizes.size() == 1 ? "" : "es") + " rebuilt in " + millis(t0) + " ms: "
                    + bytes(totalBefore) + " → " + bytes(totalAfter) + percent(totalBefore, totalAfter);
            return finish(new Outcome(mv, Status.OK, sizes, millis(t0), msg));
        } finally {
            try (PreparedStatement ps = work.prepareStatement(RefreshLock.UNLOCK)) {
                ps.setString(1, mv);
                ps.execute();
            } catch (SQLException e) {
                // the connection is gone, and its session lock with it
            }
        }
    }

    /** The REINDEX itself, under the lock timeout if any; returns the server's warnings (e.g. an INVALID index skipped). */
    private List<String> reindex(Connection work, String mv) throws SQLException {
        List<String> notes = new ArrayList<>();
        try (Statement st = work.createStatement()) {
            Session.set(work, "lock_timeout", options.lockTimeout());
            try {
                st.execute("REINDEX TABLE CONCURRENTLY " + mv);
                for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                    notes.add(w.getMessage());
                }
            } finally {
                if (options.lockTimeout() != null) {
                    try {
                        Session.reset(work, "lock_timeout");
                    } catch (SQLException connectionGone) {
                        // the REINDEX's own error (thrown on) is the one to report; a dead session has no setting to reset
                    }
                }
            }
        }
        return notes;
    }

    /** A failed rebuild: the old indexes still serve; drop the half-built copies; say who blocked a lock wait. */
    private Outcome failed(Connection work, String mv, SQLException e, long t0, Map<String, IndexSize> before,
                           List<BlockerWatch.Blocker> blockers) throws SQLException {
        boolean lockTimeout = "55P03".equals(e.getSQLState());
        StringBuilder msg = new StringBuilder();
        if (lockTimeout) {
            msg.append("lock timeout (").append(options.lockTimeout() == null ? "server setting" : Durations.human(options.lockTimeout()))
                    .append("): ").append(RefreshEngine.message(e));
            if (!blockers.isEmpty()) {
                BlockerWatch.Blocker b = blockers.get(0);
                msg.append(", waited for ").append(b.waitedFor() == null ? "a lock" : b.waitedFor()).append(", blocked by ")
                        .append(b.describe()).append(" (REINDEX CONCURRENTLY waits for every older transaction of the database; let it finish or end it: "
                                + "SELECT pg_terminate_backend(").append(b.pid()).append("))");
            }
        } else {
            msg.append(RefreshEngine.message(e));
        }
        if (work.isClosed() || !work.isValid(5)) {
            msg.append("; the connection is gone: run reindex again (it drops what this run left)");
            return finish(new Outcome(mv, lockTimeout ? Status.LOCK_TIMEOUT : Status.ERROR, List.of(), millis(t0), msg.toString()));
        }
        try {
            List<String> dropped = dropLeftovers(work, mv);
            if (!dropped.isEmpty()) {
                msg.append("; dropped the half-built ").append(String.join(", ", dropped));
            }
        } catch (SQLException again) {
            msg.append("; could not drop the half-built copies (").append(RefreshEngine.message(again))
                    .append("): the next reindex drops them");
        }
        msg.append("; the old indexes (").append(String.join(", ", before.keySet())).append(") are untouched and still serve");
        return finish(new Outcome(mv, lockTimeout ? Status.LOCK_TIMEOUT : Status.ERROR, List.of(), millis(t0), msg.toString()));
    }

    /** Drops the INVALID _ccnew/_ccold copies a failed REINDEX CONCURRENTLY left on {@code mv}; returns their names. */
    private List<String> dropLeftovers(Connection work, String mv) throws SQLException {
        List<String> names = new ArrayList<>();
        try (PreparedStatement ps = work.prepareStatement("""
                SELECT quote_ident(n.nspname) || '.' || quote_ident(i.relname)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
                WHERE x.indrelid = ?::regclass AND NOT x.indisvalid AND i.relname ~ ?
                ORDER BY 1""")) {
            ps.setString(1, mv);
            ps.setString(2, LEFTOVER);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        }
        try (Statement st = work.createStatement()) {
            for (String name : names) {
                st.execute("DROP INDEX CONCURRENTLY IF EXISTS " + name);
            }
        }
        return names;
    }

    /** Every index of {@code mv} by name: validity and size now (the sizes go into the "before" fields). */
    private static Map<String, IndexSize> indexes(Connection c, String mv) throws SQLException {
        Map<String, IndexSize> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT quote_ident(n.nspname) || '.' || quote_ident(i.relname), x.indisvalid AND x.indisready,
                       pg_relation_size(i.oid), pg_size_pretty(pg_relation_size(i.oid))
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
                WHERE x.indrelid = ?::regclass
                ORDER BY i.relname""")) {
            ps.setString(1, mv);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new IndexSize(rs.getString(1), rs.getBoolean(2), rs.getLong(3), rs.getString(4), null, null));
                }
            }
        }
        return out;
    }

    private static String line(IndexSize s, boolean wasValid) {
        if (s.bytesAfter() == null) {
            return s.index() + "  " + s.before() + " → gone (" + s.bytesBefore() + " bytes before; dropped by another session meanwhile?)";
        }
        String state = !wasValid ? "  INVALID: skipped by REINDEX TABLE CONCURRENTLY; DROP INDEX CONCURRENTLY it and recreate it" : "";
        return s.index() + "  " + s.before() + " → " + s.after() + "  (" + s.bytesBefore() + " → " + s.bytesAfter() + " bytes"
                + percent(s.bytesBefore(), s.bytesAfter()) + ")" + state;
    }

    private static String percent(long before, long after) {
        if (before == 0) {
            return "";
        }
        long p = Math.round((after - before) * 100.0 / before);
        return ", " + (p > 0 ? "+" : "") + p + "%";
    }

    private static String bytes(long n) {
        if (n < 10 * 1024) {
            return n + " bytes";
        }
        if (n < 10L * 1024 * 1024) {
            return n / 1024 + " kB";
        }
        return n / (1024 * 1024) + " MB";
    }

    private Outcome finish(Outcome o) {
        say(String.format("%-12s %s  %s", o.status(), o.mv(), o.message()));
        return o;
    }

    /** Printed for the operator and logged (slf4j) for whoever collects the runner's log. */
    private void say(String line) {
        out.accept(line);
        LOG.info("{}", line);
    }

    private static long millis(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

}
