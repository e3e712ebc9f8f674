package dev.opsmv.swap;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.opsmv.db.ClientCheck;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Relations;

/**
 * Rebuilds a materialized view beside the one that serves, then swaps it in: the new MV is built
 * and populated under a temporary name with its indexes, the old one's owner, grants, comments, storage
 * parameters and tablespace, and ANALYZEd, while readers go on reading the old one; then one short
 * transaction under lock_timeout renames the old one away (kept, or dropped) and the new one in.
 * Readers wait only for the renames; any failure leaves the old MV serving, untouched, and drops the
 * half-built one.
 *
 * <p>The one routine behind every rebuild-and-swap: adoption's {@code update --replace-differing}
 * (new definition, old MV kept for rollback, {@link #rebuild}), and the swap refresh
 * ({@code refresh --method swap}: the MV's own current definition, old MV dropped, {@link #refresh}).
 *
 * <p>The build runs in autocommit, one statement at a time, so that no transaction holds the source
 * tables for the whole build and the swap transaction stays short. A runner killed mid-build leaves
 * {@code <name>_opsmv_new} behind; the next rebuild of that MV drops it first. Two rebuilds of one MV
 * would drop each other's temporary MV: a session advisory lock on the MV (namespace
 * {@code opsmv.swap}) keeps them apart.
 */
public final class SideBySideSwap {
    /**
     * An index of the new MV: its final name, what follows {@code ON <table>} ("USING btree (a, b)",
     * "USING btree (a) WHERE …"), and its tablespace (null: the database's default).
     */
    public record IndexSpec(String name, boolean unique, String keySql, String tablespace) {
        public IndexSpec(String name, boolean unique, String keySql) {
            this(name, unique, keySql, null);
        }
    }

    /** An MV as the catalog holds it now: its query (every name schema-qualified), column names, indexes. */
    public record Definition(String query, List<String> columns, List<IndexSpec> indexes) {
    }

    /** Extra statements that must commit with the swap (a record of it, its undo, the refresh log's OK row). */
    public interface InSwap {
        void run(Connection tx, Swapped swapped) throws SQLException;
    }

    /**
     * What the swap did: the undo puts the old MV (kept under {@code keptAs}) and its index names back.
     *
     * @param rows           rows of the new MV
     * @param buildMillis    the build beside the serving MV: CREATE and REFRESH, indexes, grants, ANALYZE, count
     * @param lockWaitMillis the swap transaction's wait for its ACCESS EXCLUSIVE lock on the old MV (queries
     *                       already reading it finish first; new readers queue behind the swap meanwhile)
     * @param lockHeldMillis from that lock to the commit; in {@link InSwap} the time so far (the commit not yet)
     * @param attempts       swap transactions tried (a lock timeout is retried, up to 3)
     * @param steps          where the time went, ms per step in order (populate, indexes, grants, analyze, count, wait,
     *                       renames, commit), for the benchmark's breakdown
     */
    public record Swapped(String schema, String name, String keptAs, Map<String, String> renamedOldIndexes, long rows,
                          long buildMillis, long lockWaitMillis, long lockHeldMillis, int attempts, Map<String, Long> steps) {
        /** The swap transaction, wait included: the longest a new reader of the MV can have waited for it. */
        public long swapMillis() {
            return lockWaitMillis + lockHeldMillis;
        }

        public String undoSql() {
            if (keptAs == null) {
                throw new IllegalStateException("the old MV was dropped: nothing to swap back");
            }
            StringBuilder sql = new StringBuilder();
            sql.append("DROP MATERIALIZED VIEW IF EXISTS ").append(q(schema, name)).append("; ");
            sql.append("ALTER MATERIALIZED VIEW ").append(q(schema, keptAs)).append(" RENAME TO ").append(ident(name)).append("; ");
            renamedOldIndexes.forEach((original, now) ->
                    sql.append("ALTER INDEX ").append(q(schema, now)).append(" RENAME TO ").append(ident(original)).append("; "));
            return sql.toString().trim();
        }

        Swapped committed(long held, long commitMillis) {
            Map<String, Long> all = new LinkedHashMap<>(steps);
            all.put("commit", commitMillis);
            return new Swapped(schema, name, keptAs, renamedOldIndexes, rows, buildMillis, lockWaitMillis, held, attempts, all);
        }
    }

    public static final int SWAP_ATTEMPTS = 3;
    /** Suffix of the MV being built; {@code <name>_opsmv_new} of a killed run is dropped by the next. */
    public static final String TEMP_SUFFIX = "_opsmv_new";

    /** Opens a second session to the same database, as the same role and with the same settings as the first. */
    @FunctionalInterface
    public interface SessionOpener {
        Connection open() throws SQLException;

        /** Sessions to {@code spec} that end with this runner ({@link ClientCheck}), for a first session with no other settings. */
        static SessionOpener to(ConnectionSpec spec, String applicationName) {
            return () -> {
                Connection k = spec.open(applicationName);
                try {
                    ClientCheck.endWithThisClient(k, ClientCheck.INTERVAL);
                } catch (SQLException e) {
                    k.close();
                    throw e;
                }
                return k;
            };
        }
    }

    private final Connection c;
    private final String lockTimeout;
    private final SessionOpener indexSession;

    /** @param lockTimeout the swap transaction's lock_timeout, in PostgreSQL's syntax ("1s", "500ms") */
    public SideBySideSwap(Connection connection, String lockTimeout) {
        this(connection, lockTimeout, null);
    }

    /**
     * @param indexSession when not null, an MV with two indexes or more has them built on two sessions at
     *                     once (this one and one opened for the build): plain CREATE INDEX takes a SHARE lock,
     *                     which does not conflict with itself, and the build is mostly CPU. On the driver
     *                     matrix at 200,000 drivers (three indexes) that took a fifth off the index step
     *                     even on a loaded 2-core machine (docs/BENCHMARKS.md section 2).
     */
    public SideBySideSwap(Connection connection, String lockTimeout, SessionOpener indexSession) {
        this.c = connection;
        this.lockTimeout = lockTimeout;
        this.indexSession = indexSession;
    }

    /**
     * Why the current user cannot rebuild-and-swap {@code schema.name}; empty when it can. Checked from
     * the catalog before anything is built, so a refusal changes nothing.
     */
    public static List<String> obstacles(Connection c, String schema, String name) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT pg_has_role(current_user, m.relowner, 'USAGE'), pg_get_userbyid(m.relowner),
                       has_schema_privilege(m.relnamespace, 'CREATE'),
                       (SELECT string_agg(DISTINCT d.dependent, ', ') FROM (
                            -- views and MVs that read it (their rewrite rule depends on it)
                            SELECT quote_ident(dn.nspname) || '.' || quote_ident(dc.relname) AS dependent
                            FROM pg_depend dp JOIN pg_rewrite rw ON rw.oid = dp.objid
                            JOIN pg_class dc ON dc.oid = rw.ev_class JOIN pg_namespace dn ON dn.oid = dc.relnamespace
                            WHERE dp.classid = 'pg_rewrite'::regclass AND dp.refclassid = 'pg_class'::regclass
                              AND dp.refobjid = m.oid AND rw.ev_class <> m.oid
                            UNION ALL
                            -- SQL-standard function bodies (BEGIN ATOMIC) that name it
                            SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.proname) || '()'
                            FROM pg_depend dp JOIN pg_proc p ON p.oid = dp.objid JOIN pg_namespace pn ON pn.oid = p.pronamespace
                            WHERE dp.classid = 'pg_proc'::regclass AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = m.oid
                       ) d),
                       (SELECT string_agg(quote_ident(sn.nspname) || '.' || quote_ident(s.stxname), ', ')
                        FROM pg_statistic_ext s JOIN pg_namespace sn ON sn.oid = s.stxnamespace WHERE s.stxrelid = m.oid)
                FROM pg_class m JOIN pg_namespace n ON n.oid = m.relnamespace
                WHERE n.nspname = ? AND m.relname = ? AND m.relkind = 'm'
                """)) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("materialized view " + schema + "." + name + " does not exist", "42P01");
                }
                if (rs.getString(4) != null) {
                    out.add("other objects read it (" + rs.getString(4) + "): they are bound to the old MV, which the swap drops");
                }
                if (rs.getString(5) != null) {
                    out.add("it carries extended statistics (" + rs.getString(5) + "), which the swap does not rebuild");
                }
                if (!rs.getBoolean(1)) {
                    out.add("it is owned by " + rs.getString(2) + " and the swap creates and drops it: connect as its owner (or a member of that role)");
                } else if (!rs.getBoolean(3)) {
                    out.add("the new MV is built in schema " + schema + ", where " + "this role has no CREATE privilege");
                }
            }
        }
        return out;
    }

    /**
     * The swap refresh: rebuilds {@code schema.name} from its own current definition (as the catalog
     * has it, so a definition changed in place is honoured), with the same columns and indexes (same
     * names after the swap), and drops the old one in the swap transaction.
     */
    public Swapped refresh(String schema, String name, InSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        Definition current = definition(schema, name);
        return rebuild(schema, name, current.query(), current.columns(), current.indexes(), false, inSwap);
    }

    /**
     * Rebuilds {@code schema.name} from {@code definition} (a SELECT) with {@code indexes}. With
     * {@code keepOld} the old MV stays as {@code <name>_pre_opsmv} (with its indexes renamed where the
     * new ones take their names); otherwise it is dropped in the swap.
     */
    public Swapped rebuild(String schema, String name, String definition, List<IndexSpec> indexes, boolean keepOld, InSwap inSwap)
            throws SQLException {
        return rebuild(schema, name, definition, null, indexes, keepOld, inSwap);
    }

    /** The MV's query, columns and indexes from the catalog. */
    public Definition definition(String schema, String name) throws SQLException {
        long oid = oid(schema, name);
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            // With only pg_catalog on the search_path, pg_get_viewdef and pg_get_indexdef qualify every
            // name (as Import does): the query means the same whatever search_path the build runs with.
            st.execute("SET LOCAL search_path = pg_catalog");
            String query;
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_viewdef(?::oid)")) {
                ps.setLong(1, oid);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    // the non-pretty form: PostgreSQL's advice for output that is to be run again
                    query = rs.getString(1).trim().replaceAll(";$", "");
                }
            }
            List<String> columns = columns(oid);
            List<IndexSpec> indexes = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid),
                           'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ic.relname)
                               || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(m.relname) || ' ',
                           ts.spcname
                    FROM pg_index i
                    JOIN pg_class ic ON ic.oid = i.indexrelid
                    JOIN pg_class m ON m.oid = i.indrelid
                    JOIN pg_namespace n ON n.oid = m.relnamespace
                    LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
                    WHERE i.indrelid = ?::oid
                    ORDER BY ic.relname
                    """)) {
                ps.setLong(1, oid);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String def = rs.getString(3);
                        String prefix = rs.getString(4);
                        if (!def.startsWith(prefix)) {
                            throw new SQLException("unexpected definition of index " + rs.getString(1) + ": " + def, "XX000");
                        }
                        indexes.add(new IndexSpec(rs.getString(1), rs.getBoolean(2), def.substring(prefix.length()), rs.getString(5)));
                    }
                }
            }
            c.commit();
            return new Definition(query, columns, indexes);
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    private Swapped rebuild(String schema, String name, String definition, List<String> columns, List<IndexSpec> indexes,
                            boolean keepOld, InSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        List<String> obstacles = obstacles(c, schema, name);
        if (!obstacles.isEmpty()) {
            throw new SQLException("cannot rebuild " + schema + "." + name + " beside the serving one and swap it in: "
                    + String.join("; ", obstacles), "55000");
        }
        if (!lock(schema, name)) {
            throw new SQLException("another rebuild of " + schema + "." + name + " is in progress (it holds the swap lock of that MV)", "55P03");
        }
        String temp = shortName(name, TEMP_SUFFIX);
        try {
            Old old = old(schema, name);
            exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp)); // the leftover of a run that was killed
            long started = System.nanoTime();
            Map<String, Long> steps = new LinkedHashMap<>();
            try {
                long t = System.nanoTime();
                create(schema, temp, old, definition, columns);
                t = step(steps, "populate", t);
                buildIndexes(schema, temp, indexes);
                t = step(steps, "indexes", t);
                // CREATE INDEX (not CONCURRENTLY) scans the whole heap and stores the exact number of live rows in
                // pg_class.reltuples; ANALYZE then replaces it with an estimate. Read it in between: the log's row
                // count without a second scan of the new MV (on the driver matrix at 200,000 drivers, ~8% of a swap).
                long rows = indexes.isEmpty() ? 0 : reltuples(q(schema, temp));
                copyOwnershipGrantsAndComments(old, schema, temp, indexes);
                t = step(steps, "grants", t);
                // the old MV's statistics go with it: without ANALYZE the planner would guess until autovacuum comes by
                exec("ANALYZE " + q(schema, temp));
                t = step(steps, "analyze", t);
                if (rows <= 0) {
                    rows = count(q(schema, temp)); // no index built, or nothing to count (reltuples -1 or 0): cheap
                }
                step(steps, "count", t);
                long buildMillis = (System.nanoTime() - started) / 1_000_000;
                return swap(schema, name, old.oid(), temp, indexes, keepOld, rows, buildMillis, steps, inSwap);
            } catch (SQLException e) {
                if (!c.getAutoCommit()) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
                try {
                    exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp));
                } catch (SQLException cleanup) {
                    // a cancel meant for an index build of this session (the other one failed) can land late, on this DROP
                    try {
                        if (!"57014".equals(cleanup.getSQLState())) {
                            throw cleanup;
                        }
                        exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp));
                    } catch (SQLException again) {
                        e.addSuppressed(again);
                    }
                }
                throw e;
            }
        } finally {
            unlock(schema, name);
        }
    }

    /** The old MV's attributes that the new one takes over. */
    private record Old(long oid, String owner, String comment, String reloptions, String tablespace) {
    }

    private Old old(String schema, String name) throws SQLException {
        long oid = oid(schema, name);
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT quote_ident(pg_get_userbyid(c.relowner)), obj_description(c.oid, 'pg_class'), array_to_string(c.reloptions, ', '),
                       (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = c.reltablespace)
                FROM pg_class c WHERE c.oid = ?
                """)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String options = rs.getString(3);
                return new Old(oid, rs.getString(1), rs.getString(2), options == null || options.isEmpty() ? null : options, rs.getString(4));
            }
        }
    }

    /**
     * The new MV with its data, the old MV's storage parameters and tablespace from the start. Built
     * WITH NO DATA and then REFRESHed (plain: nobody reads it yet) rather than CREATEd WITH DATA: REFRESH
     * writes its rows frozen, so a REPEATABLE READ transaction whose snapshot is older than the swap
     * sees the new rows, as after a plain REFRESH, instead of an empty MV (rows of CREATE … WITH DATA
     * carry the build's transaction id, which such a snapshot does not see).
     */
    private void create(String schema, String temp, Old old, String definition, List<String> columns) throws SQLException {
        StringBuilder sql = new StringBuilder("CREATE MATERIALIZED VIEW ").append(q(schema, temp));
        if (columns != null) {
            // the old MV's column names, whatever names the query's output columns carry
            sql.append(" (").append(String.join(", ", columns.stream().map(SideBySideSwap::ident).toList())).append(')');
        }
        if (old.reloptions() != null) {
            sql.append(" WITH (").append(old.reloptions()).append(')');
        }
        if (old.tablespace() != null) {
            sql.append(" TABLESPACE ").append(old.tablespace());
        }
        sql.append(" AS ").append(definition).append(" WITH NO DATA");
        exec(sql.toString());
        exec("REFRESH MATERIALIZED VIEW " + q(schema, temp));
    }

    /**
     * The new MV's indexes, under their temporary names: on this session alone, or on this one and a second
     * one taking the next index from a shared queue. A failure on either side stops both (the other's
     * running build is cancelled) and is thrown once both have stopped, so the caller's cleanup (DROP of the
     * new MV) never waits behind a build still running.
     */
    private void buildIndexes(String schema, String temp, List<IndexSpec> indexes) throws SQLException {
        Connection opened = indexes.size() < 2 ? null : secondSession();
        if (opened == null) {
            for (IndexSpec i : indexes) {
                createIndex(c, schema, temp, i);
            }
            return;
        }
        java.util.concurrent.ConcurrentLinkedQueue<IndexSpec> queue = new java.util.concurrent.ConcurrentLinkedQueue<>(indexes);
        java.util.concurrent.atomic.AtomicReference<SQLException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        try (Connection second = opened) {
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
    private static void drain(Connection session, String schema, String temp, java.util.Queue<IndexSpec> queue,
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

    private static void createIndex(Connection session, String schema, String temp, IndexSpec i) throws SQLException {
        String sql = "CREATE " + (i.unique() ? "UNIQUE " : "") + "INDEX " + ident(shortName(i.name(), TEMP_SUFFIX))
                + " ON " + q(schema, temp) + " " + i.keySql();
        if (i.tablespace() == null) {
            exec(session, sql);
            return;
        }
        // CREATE INDEX takes TABLESPACE before its WHERE clause; the session default puts it there without parsing keySql
        exec(session, "SET default_tablespace = " + ident(i.tablespace()));
        try {
            exec(session, sql);
        } finally {
            exec(session, "RESET default_tablespace");
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

    private static long step(Map<String, Long> steps, String name, long since) {
        long now = System.nanoTime();
        steps.put(name, (now - since) / 1_000_000);
        return now;
    }

    private Swapped swap(String schema, String name, long oldOid, String temp, List<IndexSpec> indexes, boolean keepOld, long rows,
                         long buildMillis, Map<String, Long> buildSteps, InSwap inSwap) throws SQLException {
        SQLException last = null;
        for (int attempt = 1; attempt <= SWAP_ATTEMPTS; attempt++) {
            c.setAutoCommit(false);
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL lock_timeout = '" + lockTimeout.replace("'", "") + "'");
                String keptAs = null;
                Map<String, String> renamed = new LinkedHashMap<>();
                // The first statement takes ACCESS EXCLUSIVE on the old MV: it waits for the queries inside it
                // (at most lock_timeout); new readers queue behind it until the commit.
                if (keepOld) {
                    keptAs = shortName(name, "_pre_opsmv");
                    st.execute("ALTER MATERIALIZED VIEW " + q(schema, name) + " RENAME TO " + ident(keptAs));
                } else {
                    st.execute("DROP MATERIALIZED VIEW " + q(schema, name));
                }
                long locked = System.nanoTime();
                if (keepOld) {
                    for (IndexSpec i : indexes) {
                        if (indexExists(schema, i.name())) {
                            String aside = shortName(i.name(), "_pre_opsmv");
                            st.execute("ALTER INDEX " + q(schema, i.name()) + " RENAME TO " + ident(aside));
                            renamed.put(i.name(), aside);
                        }
                    }
                }
                st.execute("ALTER MATERIALIZED VIEW " + q(schema, temp) + " RENAME TO " + ident(name));
                for (IndexSpec i : indexes) {
                    st.execute("ALTER INDEX " + q(schema, shortName(i.name(), TEMP_SUFFIX)) + " RENAME TO " + ident(i.name()));
                }
                Map<String, Long> steps = new LinkedHashMap<>(buildSteps);
                steps.put("wait", (locked - t0) / 1_000_000);
                long renamedAt = System.nanoTime();
                steps.put("renames", (renamedAt - locked) / 1_000_000);
                Swapped swapped = new Swapped(schema, name, keptAs, renamed, rows, buildMillis,
                        (locked - t0) / 1_000_000, (renamedAt - locked) / 1_000_000, attempt, steps);
                if (inSwap != null) {
                    inSwap.run(c, swapped);
                }
                long committing = System.nanoTime();
                c.commit();
                long done = System.nanoTime();
                c.setAutoCommit(true);
                return swapped.committed((done - locked) / 1_000_000, (done - committing) / 1_000_000);
            } catch (SQLException e) {
                c.rollback();
                c.setAutoCommit(true);
                if (!"55P03".equals(e.getSQLState())) {
                    throw e;
                }
                last = e; // a long reader held the old MV past the lock timeout: new readers were never queued longer
                sleep(200L * attempt);
            }
        }
        throw new SQLException("swap of " + schema + "." + name + " gave up after " + SWAP_ATTEMPTS + " attempts of lock_timeout "
                + lockTimeout + " each: " + holders(oldOid) + " (" + last.getMessage() + ")", last.getSQLState(), last);
    }

    /** Who holds a lock on the old MV now, for the error: a long query, an open transaction, an autovacuum. */
    private String holders(long oid) {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT string_agg(DISTINCT format('pid %s (%s%s, %s%s)', a.pid, a.backend_type,
                                  CASE WHEN a.application_name <> '' THEN ' ' || quote_literal(a.application_name) ELSE '' END,
                                  coalesce(a.state, '?'), coalesce(', ' || quote_literal(left(a.query, 60)), '')), '; ')
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'relation' AND l.relation = ? AND l.granted AND l.pid <> pg_backend_pid()
                """)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1) == null ? "whoever held the old MV has let go since; run it again"
                        : "the old MV is held by " + rs.getString(1);
            }
        } catch (SQLException e) {
            return "the old MV was held by another session";
        }
    }

    private void copyOwnershipGrantsAndComments(Old old, String schema, String temp, List<IndexSpec> indexes) throws SQLException {
        String target = q(schema, temp);
        exec("ALTER MATERIALIZED VIEW " + target + " OWNER TO " + old.owner());
        if (old.comment() != null) {
            exec("COMMENT ON MATERIALIZED VIEW " + target + " IS " + literal(old.comment()));
        }
        List<String> statements = new ArrayList<>();
        // Default privileges (ALTER DEFAULT PRIVILEGES) gave the new MV grants the old one may not have: start from none.
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = ?::regclass AND a.grantee <> c.relowner
                """)) {
            ps.setString(1, target);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    statements.add("REVOKE ALL ON " + target + " FROM " + rs.getString(1));
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                       a.is_grantable
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = ? AND a.grantee <> c.relowner
                """)) {
            ps.setLong(1, old.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    statements.add("GRANT " + rs.getString(1) + " ON " + target + " TO " + rs.getString(2)
                            + (rs.getBoolean(3) ? " WITH GRANT OPTION" : ""));
                }
            }
        }
        Set<String> newColumns = new TreeSet<>(columns(oid(schema, temp)));
        // column privileges and column comments, for the columns the new MV still has
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.attname, x.privilege_type, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                       x.is_grantable
                FROM pg_attribute a, aclexplode(a.attacl) x
                WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
                """)) {
            ps.setLong(1, old.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (newColumns.contains(rs.getString(1))) {
                        statements.add("GRANT " + rs.getString(2) + " (" + ident(rs.getString(1)) + ") ON " + target + " TO "
                                + rs.getString(3) + (rs.getBoolean(4) ? " WITH GRANT OPTION" : ""));
                    }
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.attname, d.description
                FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
                WHERE d.classoid = 'pg_class'::regclass AND d.objoid = ? AND d.objsubid > 0
                """)) {
            ps.setLong(1, old.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (newColumns.contains(rs.getString(1))) {
                        statements.add("COMMENT ON COLUMN " + target + "." + ident(rs.getString(1)) + " IS " + literal(rs.getString(2)));
                    }
                }
            }
        }
        // comments of the old MV's indexes, onto the new indexes that take their names
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT ic.relname, obj_description(ic.oid, 'pg_class')
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                WHERE i.indrelid = ? AND obj_description(ic.oid, 'pg_class') IS NOT NULL
                """)) {
            ps.setLong(1, old.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    for (IndexSpec i : indexes) {
                        if (i.name().equals(rs.getString(1))) {
                            statements.add("COMMENT ON INDEX " + q(schema, shortName(i.name(), TEMP_SUFFIX)) + " IS " + literal(rs.getString(2)));
                        }
                    }
                }
            }
        }
        for (String sql : statements) {
            exec(sql);
        }
    }

    private boolean lock(String schema, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_try_advisory_lock(hashtext('opsmv.swap'), hashtext(quote_ident(?) || '.' || quote_ident(?)))")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private void unlock(String schema, String name) {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_advisory_unlock(hashtext('opsmv.swap'), hashtext(quote_ident(?) || '.' || quote_ident(?)))")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            ps.execute();
        } catch (SQLException e) {
            // the connection is gone, and its session lock with it
        }
    }

    private long oid(String schema, String name) throws SQLException {
        return Relations.oid(c, schema, name, "m")
                .orElseThrow(() -> new SQLException("materialized view " + q(schema, name) + " does not exist", "42P01"));
    }

    /** The relation's column names, in order. */
    private List<String> columns(long oid) throws SQLException {
        List<String> columns = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT attname FROM pg_attribute WHERE attrelid = ?::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(rs.getString(1));
                }
            }
        }
        return columns;
    }

    private boolean indexExists(String schema, String index) throws SQLException {
        return Relations.exists(c, schema, index, "i");
    }

    private long reltuples(String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private long count(String table) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void exec(String sql) throws SQLException {
        exec(c, sql);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** PostgreSQL truncates identifiers at 63 bytes: keep the suffix, shorten the stem. */
    public static String shortName(String name, String suffix) {
        int room = 63 - suffix.length();
        return (name.length() > room ? name.substring(0, room) : name) + suffix;
    }

    static String q(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
