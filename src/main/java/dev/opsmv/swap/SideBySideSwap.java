package dev.opsmv.swap;

import static dev.opsmv.swap.RelationCatalog.ident;
import static dev.opsmv.swap.RelationCatalog.q;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.opsmv.db.BlockerWatch;
import dev.opsmv.db.ClientCheck;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Durations;
import dev.opsmv.db.Relations;
import dev.opsmv.db.Session;

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
    /** Extra statements that must commit with the swap (a record of it, its undo, the refresh log's OK row). */
    public interface InSwap {
        void run(Connection tx, Swapped swapped) throws SQLException;
    }

    /**
     * What the swap did.
     *
     * @param undo           when the old MV was recorded ({@link #rebuild} for a replacement): the SQL that rebuilds it
     *                       from its own definition with everything attached to it, in place of the new one; else null
     * @param rows           rows of the new MV
     * @param buildMillis    the build beside the serving MV: CREATE and REFRESH, indexes, grants, ANALYZE, count
     * @param lockWaitMillis the swap transaction's wait for its ACCESS EXCLUSIVE lock on the old MV (queries
     *                       already reading it finish first; new readers queue behind the swap meanwhile)
     * @param lockHeldMillis from that lock to the commit; in {@link InSwap} the time so far (the commit not yet)
     * @param attempts       swap transactions tried (a lock timeout is retried, up to 3)
     * @param steps          where the time went, ms per step in order (populate, indexes, grants, analyze, count, wait,
     *                       renames, commit), for the benchmark's breakdown
     */
    public record Swapped(String schema, String name, String undo, long rows,
                          long buildMillis, long lockWaitMillis, long lockHeldMillis, int attempts, Map<String, Long> steps) {
        /** The swap transaction, wait included: the longest a new reader of the MV can have waited for it. */
        public long swapMillis() {
            return lockWaitMillis + lockHeldMillis;
        }

        public String undoSql() {
            if (undo == null) {
                throw new IllegalStateException("the old MV was dropped unrecorded: nothing to put back");
            }
            return undo;
        }

        Swapped committed(long held, long commitMillis) {
            Map<String, Long> all = new LinkedHashMap<>(steps);
            all.put("commit", commitMillis);
            return new Swapped(schema, name, undo, rows, buildMillis, lockWaitMillis, held, attempts, all);
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
    private final Duration lockTimeout;
    private final SessionOpener indexSession;

    /** @param lockTimeout the swap transaction's lock_timeout */
    public SideBySideSwap(Connection connection, Duration lockTimeout) {
        this(connection, lockTimeout, null);
    }

    /**
     * @param indexSession when not null, an MV with two indexes or more has them built on two sessions at
     *                     once (this one and one opened for the build): plain CREATE INDEX takes a SHARE lock,
     *                     which does not conflict with itself, and the build is mostly CPU. On the driver
     *                     matrix at 200,000 drivers (three indexes) that took a fifth off the index step
     *                     even on a loaded 2-core machine (docs/BENCHMARKS.md section 2).
     */
    public SideBySideSwap(Connection connection, Duration lockTimeout, SessionOpener indexSession) {
        this.c = connection;
        this.lockTimeout = lockTimeout;
        this.indexSession = indexSession;
    }

    /**
     * Why the current user cannot rebuild-and-swap {@code schema.name}; empty when it can. Checked from
     * the catalog before anything is built, so a refusal changes nothing.
     */
    public static List<String> obstacles(Connection c, String schema, String name) throws SQLException {
        return Obstacles.of(c, schema, name);
    }

    /**
     * The swap refresh: rebuilds {@code schema.name} from its own current definition (as the catalog
     * has it, so a definition changed in place is honoured), with the same columns and indexes (same
     * names after the swap), and drops the old one in the swap transaction.
     */
    public Swapped refresh(String schema, String name, InSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        MvDefinition current = definition(schema, name);
        return rebuild(schema, name, current.query(), current.columns(), current.indexes(), false, inSwap);
    }

    /**
     * Rebuilds {@code schema.name} from {@code definition} (a SELECT) with {@code indexes}. With
     * {@code keepOld} the old MV is recorded before it is dropped in the swap: {@link Swapped#undoSql} rebuilds
     * it from its own definition with everything attached to it ({@link #restoreScript}); otherwise it is
     * just dropped.
     */
    public Swapped rebuild(String schema, String name, String definition, List<IndexSpec> indexes, boolean keepOld, InSwap inSwap)
            throws SQLException {
        return rebuild(schema, name, definition, null, indexes, keepOld, inSwap);
    }

    /** The MV's query, columns and indexes from the catalog. */
    public MvDefinition definition(String schema, String name) throws SQLException {
        return RelationCatalog.definition(c, schema, name);
    }

    private Swapped rebuild(String schema, String name, String definition, List<String> columns, List<IndexSpec> bundleIndexes,
                            boolean keepOld, InSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        List<String> obstacles = obstacles(c, schema, name);
        if (!obstacles.isEmpty()) {
            throw new SQLException("cannot rebuild " + schema + "." + name + " beside the serving one and swap it in: "
                    + String.join("; ", obstacles), "55000");
        }
        Carry carry = Carry.of(c, oid(schema, name));
        List<IndexSpec> indexes = bundleIndexes;
        if (columns == null) {
            Carried carried = withOldIndexes(schema, definition, carry.oid, bundleIndexes);
            if (!carried.cannot().isEmpty()) {
                throw new SQLException("cannot rebuild " + schema + "." + name + " with the new definition: "
                        + String.join("; ", carried.cannot()), "55000");
            }
            indexes = carried.indexes();
        }
        if (!lock(schema, name)) {
            throw new SQLException("another rebuild of " + schema + "." + name + " is in progress (it holds the swap lock of that MV)", "55P03");
        }
        String undo = keepOld ? restoreScript(schema, name, carry) : null;
        String temp = shortName(name, TEMP_SUFFIX);
        try {
            exec("DROP MATERIALIZED VIEW IF EXISTS " + q(schema, temp)); // the leftover of a run that was killed
            long started = System.nanoTime();
            Map<String, Long> steps = new LinkedHashMap<>();
            try {
                long t = System.nanoTime();
                create(schema, temp, carry, definition, columns);
                t = step(steps, "populate", t);
                new IndexBuilds(c, indexSession, index -> shortName(index, TEMP_SUFFIX)).build(schema, temp, indexes);
                t = step(steps, "indexes", t);
                // CREATE INDEX (not CONCURRENTLY) scans the whole heap and stores the exact number of live rows in
                // pg_class.reltuples; ANALYZE then replaces it with an estimate. Read it in between: the log's row
                // count without a second scan of the new MV (on the driver matrix at 200,000 drivers, ~8% of a swap).
                long rows = indexes.isEmpty() ? 0 : reltuples(q(schema, temp));
                carry.apply(c, schema, q(schema, temp), indexes, index -> shortName(index, TEMP_SUFFIX));
                t = step(steps, "grants", t);
                // the old MV's statistics go with it: without ANALYZE the planner would guess until autovacuum comes by
                exec("ANALYZE " + q(schema, temp));
                t = step(steps, "analyze", t);
                if (rows <= 0) {
                    rows = count(q(schema, temp)); // no index built, or nothing to count (reltuples -1 or 0): cheap
                }
                step(steps, "count", t);
                long buildMillis = (System.nanoTime() - started) / 1_000_000;
                return swap(schema, name, carry.oid, temp, indexes, undo, rows, buildMillis, steps, inSwap);
            } catch (SQLException e) {
                if (!c.getAutoCommit()) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
                try {
                    exec("RESET ROLE"); // a failure while acting as a grantor
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

    /**
     * Why {@link #rebuild} would refuse {@code schema.name} with {@code definition}: the MV's {@link #obstacles},
     * and its own indexes that read a column the new definition does not have. Empty: it can go ahead.
     */
    public List<String> rebuildObstacles(String schema, String name, String definition, List<IndexSpec> bundleIndexes) throws SQLException {
        if (chain(c, schema, name).size() > 1) {
            List<String> out = new ArrayList<>(ChainSwap.obstacles(c, schema, name));
            if (out.isEmpty()) {
                out.addAll(withOldIndexes(schema, definition, oid(schema, name), bundleIndexes).cannot());
                out.addAll(new ChainSwap(c, lockTimeout, indexSession).readersOn(schema, name, definition));
            }
            return out;
        }
        List<String> out = new ArrayList<>(obstacles(c, schema, name));
        if (out.isEmpty()) {
            out.addAll(withOldIndexes(schema, definition, oid(schema, name), bundleIndexes).cannot());
        }
        return out;
    }

    /**
     * {@code update --replace-differing}: {@code schema.name} rebuilt from {@code definition} with
     * {@code bundleIndexes} (and its own hand-made indexes it can carry) and swapped in. An MV that other views
     * or MVs read is rebuilt with them, each reader from its own definition on the new MV, and all are swapped
     * in by one transaction ({@link ChainSwap}); {@link Swapped#undoSql} then puts back the original and its
     * readers as they are now. Either way the old relations are recorded, never kept.
     */
    public Swapped replace(String schema, String name, String definition, List<IndexSpec> bundleIndexes, InSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        List<String> members = chain(c, schema, name);
        if (members.size() == 1) {
            return rebuild(schema, name, definition, bundleIndexes, true, inSwap);
        }
        List<String> why = rebuildObstacles(schema, name, definition, bundleIndexes);
        if (!why.isEmpty()) {
            throw new SQLException("cannot rebuild " + schema + "." + name + " with what reads it: " + String.join("; ", why), "55000");
        }
        Carried carried = withOldIndexes(schema, definition, oid(schema, name), bundleIndexes);
        List<String> undo = new ArrayList<>();
        for (int i = members.size() - 1; i >= 0; i--) {
            undo.add("DROP " + (materialized(members.get(i)) ? "MATERIALIZED VIEW" : "VIEW") + " IF EXISTS " + members.get(i) + ";");
        }
        for (String member : members) {
            long oid = RelationCatalog.oidOf(c, member);
            String[] sn = ChainSwap.split(c, member);
            undo.add(restoreScript(sn[0], sn[1], Carry.of(c, oid)));
        }
        String undoSql = String.join("\n", undo);
        ChainSwap.Result r = new ChainSwap(c, lockTimeout, indexSession).swap(schema, name,
                new ChainSwap.Replacement(definition, carried.indexes()),
                (tx, rows) -> inSwap.run(tx, new Swapped(schema, name, undoSql, rows.getOrDefault(name, 0L), 0, 0, 0, 1, Map.of())));
        return new Swapped(schema, name, undoSql, r.rows().getOrDefault(name, 0L), r.buildMillis(), r.lockWaitMillis(), r.lockHeldMillis(),
                r.attempts(), Map.of());
    }

    private boolean materialized(String qualified) throws SQLException {
        return Session.isTrue(c, "SELECT relkind = \'m\' FROM pg_class WHERE oid = ?::regclass", qualified);
    }

    /** The indexes a rebuild builds, and the old MV's own indexes it cannot carry (with the columns they miss). */
    private record Carried(List<IndexSpec> indexes, List<String> cannot) {
    }

    /**
     * A new definition's indexes plus the old MV's own ones the bundle does not build (by name): hand-made
     * indexes stay, under their names, when every column they read is still in the new definition.
     */
    private Carried withOldIndexes(String schema, String definition, long oldOid, List<IndexSpec> bundleIndexes) throws SQLException {
        Set<String> taken = new TreeSet<>();
        bundleIndexes.forEach(i -> taken.add(i.name()));
        Set<String> newColumns = new TreeSet<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM (" + definition + ") q LIMIT 0")) {
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                newColumns.add(rs.getMetaData().getColumnName(i));
            }
        }
        List<IndexSpec> all = new ArrayList<>(bundleIndexes);
        List<String> cannot = new ArrayList<>();
        for (IndexSpec old : RelationCatalog.inCatalogTerms(c, () -> RelationCatalog.indexes(c, oldOid))) {
            if (taken.contains(old.name())) {
                continue;
            }
            List<String> missing = new ArrayList<>();
            for (String column : RelationCatalog.indexColumns(c, schema, old.name())) {
                if (!newColumns.contains(column)) {
                    missing.add(column);
                }
            }
            if (missing.isEmpty()) {
                all.add(old);
            } else {
                cannot.add("its index " + schema + "." + old.name() + " reads " + String.join(", ", missing)
                        + ", which the new definition does not have: drop that index, or make the live definition the bundle's next version (opsmv import)");
            }
        }
        return new Carried(all, cannot);
    }

    /** The columns of the MV that an index reads, plainly or in an expression or predicate (pg_depend). */
    /**
     * SQL that puts {@code schema.name} back as it is now in place of whatever has that name then: its own
     * definition (every name qualified), storage parameters, owner (before it is populated: the owner's
     * rights), rows recomputed by REFRESH where it is populated now, its indexes under their names, and
     * everything {@link Carry} carries. Kept as text rather than as the old relation itself: an old MV kept
     * beside the new one would stay bound to what it reads, and a later release that redefines that (v1.1's
     * view) would stop on it. Its rows are recomputed, not kept, which is what the log needs: the log keyed
     * by name holds the refreshes of the MV that replaced it.
     */
    private String restoreScript(String schema, String name, Carry carry) throws SQLException {
        String target = q(schema, name);
        long oid = RelationCatalog.oidOf(c, target);
        MvDefinition old = definition(schema, name);
        boolean populated;
        try (PreparedStatement ps = c.prepareStatement("SELECT relispopulated FROM pg_class WHERE oid = ?::oid")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                populated = rs.getBoolean(1);
            }
        }
        List<String> sql = new ArrayList<>();
        if (!materialized(target)) {
            // a reader of a replaced MV (replace): put back with its definition, owner and what Carry carries
            sql.add("DROP VIEW IF EXISTS " + target);
            sql.add(createRelation(false, target, old.columns(), carry.storageOptions(), null, old.query()));
            sql.add("ALTER VIEW " + target + " OWNER TO " + ident(carry.owner));
            sql.addAll(carry.script(schema, target, old.columns(), List.of()));
            return String.join(";\n", sql) + ";";
        }
        sql.add("DROP MATERIALIZED VIEW IF EXISTS " + target);
        sql.add(createRelation(true, target, old.columns(), carry.storageOptions(), carry.tablespace, old.query()));
        sql.add("ALTER MATERIALIZED VIEW " + target + " OWNER TO " + ident(carry.owner));
        if (populated) {
            sql.add("REFRESH MATERIALIZED VIEW " + target);
        }
        for (IndexSpec i : old.indexes()) {
            String index = "CREATE " + (i.unique() ? "UNIQUE " : "") + "INDEX " + ident(i.name()) + " ON " + target + " " + i.keySql();
            if (i.tablespace() == null) {
                sql.add(index);
            } else {
                sql.add("SET LOCAL default_tablespace = " + ident(i.tablespace()));
                sql.add(index);
                sql.add("SET LOCAL default_tablespace = ''");
            }
        }
        sql.addAll(carry.script(schema, target, old.columns(), old.indexes()));
        if (populated) {
            sql.add("ANALYZE " + target);
        }
        return String.join(";\n", sql) + ";";
    }

    /**
     * The new MV, empty, with the old MV's storage parameters (heap and TOAST) and tablespace from the
     * start, handed to the old MV's owner, and then populated by REFRESH: PostgreSQL's REFRESH runs the
     * query as the MV's owner in its restricted mode (row-level security, functions, search_path as a
     * REFRESH of the old MV would have them), never with the runner's rights. REFRESH (plain: nobody
     * reads the new MV yet) also writes its rows frozen, so a REPEATABLE READ transaction whose snapshot
     * is older than the swap sees the new rows, as after a plain REFRESH, instead of an empty MV.
     */
    private void create(String schema, String temp, Carry old, String definition, List<String> columns) throws SQLException {
        exec(createRelation(true, q(schema, temp), columns, old.storageOptions(), old.tablespace, definition));
        old.ownerTo(c, q(schema, temp));
        exec("REFRESH MATERIALIZED VIEW " + q(schema, temp));
    }

    /**
     * The one spelling of every relation a rebuild creates: {@code CREATE MATERIALIZED VIEW|VIEW target (columns)
     * WITH (options) TABLESPACE ts AS query}, an MV created WITH NO DATA (REFRESH populates it as its owner).
     * {@code columns} null: the query's own column names.
     */
    static String createRelation(boolean materialized, String target, List<String> columns, String options, String tablespace, String query) {
        StringBuilder sql = new StringBuilder("CREATE ").append(materialized ? "MATERIALIZED VIEW " : "VIEW ").append(target);
        if (columns != null) {
            sql.append(" (").append(String.join(", ", columns.stream().map(RelationCatalog::ident).toList())).append(')');
        }
        if (options != null) {
            sql.append(" WITH (").append(options).append(')');
        }
        if (materialized && tablespace != null) {
            sql.append(" TABLESPACE ").append(tablespace);
        }
        sql.append(" AS ").append(query);
        if (materialized) {
            sql.append(" WITH NO DATA");
        }
        return sql.toString();
    }


    private static long step(Map<String, Long> steps, String name, long since) {
        long now = System.nanoTime();
        steps.put(name, (now - since) / 1_000_000);
        return now;
    }

    private Swapped swap(String schema, String name, long oldOid, String temp, List<IndexSpec> indexes, String undo, long rows,
                         long buildMillis, Map<String, Long> buildSteps, InSwap inSwap) throws SQLException {
        SQLException last = null;
        for (int attempt = 1; attempt <= SWAP_ATTEMPTS; attempt++) {
            c.setAutoCommit(false);
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                Session.setLocal(c, "lock_timeout", lockTimeout);
                // The first statement takes ACCESS EXCLUSIVE on the old MV: it waits for the queries inside it
                // (at most lock_timeout); new readers queue behind it until the commit.
                st.execute("DROP MATERIALIZED VIEW " + q(schema, name));
                long locked = System.nanoTime();
                st.execute("ALTER MATERIALIZED VIEW " + q(schema, temp) + " RENAME TO " + ident(name));
                for (IndexSpec i : indexes) {
                    st.execute("ALTER INDEX " + q(schema, shortName(i.name(), TEMP_SUFFIX)) + " RENAME TO " + ident(i.name()));
                }
                Map<String, Long> steps = new LinkedHashMap<>(buildSteps);
                steps.put("wait", (locked - t0) / 1_000_000);
                long renamedAt = System.nanoTime();
                steps.put("renames", (renamedAt - locked) / 1_000_000);
                Swapped swapped = new Swapped(schema, name, undo, rows, buildMillis,
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
                + Durations.human(lockTimeout) + " each: " + holders(oldOid) + " (" + last.getMessage() + ")", last.getSQLState(), last);
    }

    /** Who holds a lock on the old MV now, for the error: a long query, an open transaction, an autovacuum. */
    private String holders(long oid) {
        try {
            List<BlockerWatch.Blocker> held = BlockerWatch.holders(c, oid);
            return held.isEmpty() ? "whoever held the old MV has let go since; run it again"
                    : "the old MV is held by " + String.join("; ", held.stream().map(BlockerWatch.Blocker::describe).toList());
        } catch (SQLException e) {
            return "the old MV was held by another session";
        }
    }

    /**
     * What a swap of an MV with its downstream subgraph did ({@link #refreshChain}).
     *
     * @param members every relation swapped (MVs and views), upstream first
     * @param rows    rows of each new MV, by name
     */
    public record ChainSwapped(List<String> members, Map<String, Long> rows, long buildMillis, long lockWaitMillis, long lockHeldMillis,
                               int attempts) {
        public long swapMillis() {
            return lockWaitMillis + lockHeldMillis;
        }
    }

    /** Extra statements that commit with a chain swap (the refresh log's OK rows), given each new MV's rows. */
    public interface InChainSwap {
        void run(Connection tx, Map<String, Long> rows) throws SQLException;
    }

    /** The MV and every view and MV that reads it, transitively, upstream first. */
    public static List<String> chain(Connection c, String schema, String root) throws SQLException {
        return ChainSwap.subgraph(c, schema, root);
    }

    /** Why {@code schema.root} cannot be swapped with its whole downstream subgraph; empty when it can. */
    public static List<String> chainObstacles(Connection c, String schema, String root) throws SQLException {
        return ChainSwap.obstacles(c, schema, root);
    }

    /**
     * The swap refresh of an MV that others read: it and its whole downstream subgraph rebuilt side by side,
     * each new MV reading the new upstream, and swapped in by one short transaction ({@link ChainSwap}).
     */
    public ChainSwapped refreshChain(String schema, String root, InChainSwap inSwap) throws SQLException {
        List<String> members = chain(c, schema, root);
        // null: nothing to run in the swap transaction (a method reference on null would throw before the build)
        ChainSwap.Result r = new ChainSwap(c, lockTimeout, indexSession).swap(schema, root, inSwap == null ? null : inSwap::run);
        return new ChainSwapped(members, r.rows(), r.buildMillis(), r.lockWaitMillis(), r.lockHeldMillis(), r.attempts());
    }

    static boolean tryLock(Connection c, String schema, String name) throws SQLException {
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

    static void unlockQuietly(Connection c, String schema, String name) {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_advisory_unlock(hashtext('opsmv.swap'), hashtext(quote_ident(?) || '.' || quote_ident(?)))")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            ps.execute();
        } catch (SQLException e) {
            // the connection is gone, and its session lock with it
        }
    }

    private boolean lock(String schema, String name) throws SQLException {
        return tryLock(c, schema, name);
    }

    private void unlock(String schema, String name) {
        unlockQuietly(c, schema, name);
    }

    private long oid(String schema, String name) throws SQLException {
        return Relations.oid(c, schema, name, "m")
                .orElseThrow(() -> new SQLException("materialized view " + q(schema, name) + " does not exist", "42P01"));
    }

    private boolean indexExists(String schema, String index) throws SQLException {
        return Relations.exists(c, schema, index, "i");
    }

    private long reltuples(String table) throws SQLException {
        return Session.number(c, 0, "SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass", table);
    }

    private long count(String table) throws SQLException {
        return Session.number(c, 0, "SELECT count(*) FROM " + table);
    }

    private void exec(String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
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


}
