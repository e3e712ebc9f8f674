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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.opsmv.db.Causes;
import dev.opsmv.db.Durations;
import dev.opsmv.db.Session;
import dev.opsmv.swap.SideBySideSwap.SessionOpener;

/**
 * The swap of an MV that other MVs and views read: the MV and its whole downstream subgraph (from the
 * catalog, transitively) are rebuilt side by side in a scratch schema of their own, each new MV reading
 * the new upstream and computed by PostgreSQL's REFRESH as its owner, with the same indexes under their
 * final names and everything {@link Carry} carries; then one short transaction under lock_timeout drops
 * the old subgraph (dependents first) and moves the new one into the MVs' schema. Readers wait only for
 * that transaction. Any failure drops the scratch schema and what is in it: the old subgraph serves on.
 *
 * <p>Why a scratch schema rather than {@code _opsmv_new} names beside the old ones: a dependent's query
 * names its upstream; deparsed with the MVs' schema on the search_path those names come out unqualified,
 * and built with the scratch schema first on the search_path they bind to the new upstream, without
 * rewriting any query text. The indexes are built under their final names (index names are per schema),
 * and {@code ALTER … SET SCHEMA} takes each relation with its indexes and row type in one catalog update.
 */
final class ChainSwap {
    /** A relation of the subgraph, as the catalog has it now. */
    record Member(long oid, String name, boolean materialized, String query, List<String> columns, String options,
                  String tablespace, List<IndexSpec> indexes) {
        String kind() {
            return materialized ? "MATERIALIZED VIEW" : "VIEW";
        }
    }

    /**
     * The root rebuilt from another definition than its own ({@code update --replace-differing}): a query in
     * catalog terms (every name qualified) and the indexes to build on it.
     */
    record Replacement(String definition, List<IndexSpec> indexes) {
    }

    /** What a chain swap did, per MV of the subgraph (the views have no rows). */
    record Result(Map<String, Long> rows, long buildMillis, long lockWaitMillis, long lockHeldMillis, int attempts) {
    }

    private final Connection c;
    private final Duration lockTimeout;
    private final SessionOpener indexSession;

    ChainSwap(Connection c, Duration lockTimeout, SessionOpener indexSession) {
        this.c = c;
        this.lockTimeout = lockTimeout;
        this.indexSession = indexSession;
    }

    /** The MV and everything that reads it, transitively, upstream first (every member after what it reads). */
    static List<String> subgraph(Connection c, String schema, String root) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                WITH RECURSIVE readers(oid) AS (
                    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = ? AND c.relname = ? AND c.relkind = 'm'
                    UNION
                    SELECT rw.ev_class FROM readers r
                    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = r.oid AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite rw ON rw.oid = d.objid
                    WHERE rw.ev_class <> r.oid
                ), depth(oid, level) AS (
                    -- the longest path from the root: every member comes after all it reads
                    SELECT c.oid, 0 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?
                    UNION ALL
                    SELECT rw.ev_class, dp.level + 1 FROM depth dp
                    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = dp.oid AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite rw ON rw.oid = d.objid
                    WHERE rw.ev_class <> dp.oid AND dp.level < 100
                )
                SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), max(dp.level)
                FROM readers r JOIN pg_class c ON c.oid = r.oid JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN depth dp ON dp.oid = r.oid
                GROUP BY 1 ORDER BY 2, 1
                """)) {
            ps.setString(1, schema);
            ps.setString(2, root);
            ps.setString(3, schema);
            ps.setString(4, root);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }
    }

    /** Why the subgraph of {@code root} cannot be swapped as a whole; empty when it can. */
    static List<String> obstacles(Connection c, String schema, String root) throws SQLException {
        List<String> out = new ArrayList<>();
        for (String member : subgraph(c, schema, root)) {
            String[] sn = split(c, member);
            if (!sn[0].equals(schema)) {
                out.add(member + " reads it from another schema: a chain swap rebuilds one schema's relations");
                continue;
            }
            for (String why : Obstacles.of(c, sn[0], sn[1], false)) {
                out.add(member + ": " + why);
            }
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT has_database_privilege(current_database(), 'CREATE')")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                out.add("the new relations are built in a scratch schema, and this role has no CREATE privilege on the database");
            }
        }
        return out;
    }

    /**
     * Rebuilds and swaps the subgraph of {@code schema.root}; {@code inSwap} runs in the swap transaction
     * (the refresh log's OK rows), with the rows of each new MV.
     */
    Result swap(String schema, String root, InChainSwap inSwap) throws SQLException {
        return swap(schema, root, null, inSwap);
    }

    /** As {@link #swap(String, String, InChainSwap)}, the root built from {@code replacement} when not null. */
    Result swap(String schema, String root, Replacement replacement, InChainSwap inSwap) throws SQLException {
        c.setAutoCommit(true);
        List<String> why = obstacles(c, schema, root);
        if (!why.isEmpty()) {
            throw new SQLException("cannot rebuild " + schema + "." + root + " with its dependents beside them and swap them in: "
                    + String.join("; ", why), "55000");
        }
        long rootOid = RelationCatalog.oidOf(c, q(schema, root));
        String scratch = "opsmv_swap_" + rootOid;
        List<Member> members = new ArrayList<>();
        Map<Member, Carry> carries = new LinkedHashMap<>();
        for (String m : subgraph(c, schema, root)) {
            Member member = read(schema, RelationCatalog.oidOf(c, m));
            if (replacement != null && member.oid() == rootOid) {
                // its columns are the new query's own
                member = new Member(member.oid(), member.name(), true, replacement.definition(), null, member.options(),
                        member.tablespace(), replacement.indexes());
            }
            members.add(member);
            carries.put(member, Carry.of(c, member.oid()));
        }
        Set<String> locked = new LinkedHashSet<>();
        try {
            for (Member m : members) {
                if (!SideBySideSwap.tryLock(c, schema, m.name())) {
                    throw new SQLException("another rebuild of " + schema + "." + m.name() + " is in progress (it holds the swap lock of that relation)", "55P03");
                }
                locked.add(m.name());
            }
            exec("DROP SCHEMA IF EXISTS " + ident(scratch) + " CASCADE"); // the leftover of a run that was killed
            long started = System.nanoTime();
            Map<String, Long> rows = new LinkedHashMap<>();
            Analyzes analyzes = new Analyzes(c, indexSession);
            IndexBuilds.Shared indexes = new IndexBuilds.Shared(indexSession);
            try {
                exec("CREATE SCHEMA " + ident(scratch));
                for (String owner : carries.values().stream().map(k -> k.owner).distinct().toList()) {
                    // the owners take their relations there (ALTER OWNER wants CREATE on the schema of a non-superuser's)
                    exec("GRANT USAGE, CREATE ON SCHEMA " + ident(scratch) + " TO " + ident(owner));
                }
                Session.set(c, "search_path", ident(scratch) + ", " + ident(schema) + ", pg_catalog");
                try {
                    for (Member m : members) {
                        Long n = build(scratch, m, carries.get(m), analyzes, indexes);
                        if (n != null) {
                            rows.put(m.name(), n);
                        }
                    }
                } finally {
                    Session.reset(c, "search_path");
                }
                analyzes.await();
                analyzes.close();
                indexes.close();
                long buildMillis = (System.nanoTime() - started) / 1_000_000;
                Result done = swap(schema, scratch, members, rows, buildMillis, rootOid, inSwap);
                exec("DROP SCHEMA IF EXISTS " + ident(scratch) + " CASCADE");
                return done;
            } catch (SQLException e) {
                analyzes.close(); // before the DROP SCHEMA, which would wait for a running ANALYZE
                indexes.close();
                if (!c.getAutoCommit()) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
                try {
                    exec("RESET ROLE");
                    Session.reset(c, "search_path");
                    exec("DROP SCHEMA IF EXISTS " + ident(scratch) + " CASCADE");
                } catch (SQLException cleanup) {
                    if ("57014".equals(cleanup.getSQLState())) {
                        // a cancel meant for an index build of this session can land late, on this DROP
                        try {
                            exec("DROP SCHEMA IF EXISTS " + ident(scratch) + " CASCADE");
                        } catch (SQLException again) {
                            e.addSuppressed(again);
                        }
                    } else {
                        e.addSuppressed(cleanup);
                    }
                }
                throw e;
            } finally {
                analyzes.close();
                indexes.close();
            }
        } finally {
            for (String name : locked) {
                SideBySideSwap.unlockQuietly(c, schema, name);
            }
        }
    }

    /**
     * Why the readers of {@code schema.root} could not be rebuilt on {@code definition}: each reader created
     * empty on an empty root of that definition, in a scratch schema, in a transaction that is rolled back
     * (a reader that needs a column the definition lacks, or of another type, fails here, not after the build).
     */
    List<String> readersOn(String schema, String root, String definition) throws SQLException {
        long rootOid = RelationCatalog.oidOf(c, q(schema, root));
        List<Member> readers = new ArrayList<>();
        for (String m : subgraph(c, schema, root)) {
            long oid = RelationCatalog.oidOf(c, m);
            if (oid != rootOid) {
                readers.add(read(schema, oid));
            }
        }
        List<String> out = new ArrayList<>();
        String scratch = "opsmv_probe_" + rootOid;
        Session.rolledBack(c, () -> {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + ident(scratch));
                Session.setLocal(c, "search_path", ident(scratch) + ", " + ident(schema) + ", pg_catalog");
                st.execute(SideBySideSwap.createRelation(true, q(scratch, root), null, null, null, definition));
                for (Member m : readers) {
                    st.execute("SAVEPOINT opsmv_reader");
                    try {
                        st.execute(SideBySideSwap.createRelation(m.materialized(), q(scratch, m.name()), m.columns(), null, null, m.query()));
                        st.execute("RELEASE SAVEPOINT opsmv_reader");
                    } catch (SQLException e) {
                        st.execute("ROLLBACK TO SAVEPOINT opsmv_reader");
                        out.add(schema + "." + m.name() + " reads it and cannot be rebuilt on the new definition ("
                                + Causes.firstLine(e)
                                + "): redefine or drop that reader, then run again");
                    }
                }
            }
            return null;
        });
        return out;
    }

    /** Extra statements that commit with the swap, given the rows of each new MV. */
    interface InChainSwap {
        void run(Connection tx, Map<String, Long> rows) throws SQLException;
    }

    private Member read(String schema, long oid) throws SQLException {
        // read-only, rolled back (what SET LOCAL changed goes with it)
        return Session.rolledBack(c, () -> {
            String query;
            String name;
            boolean materialized;
            String options;
            String tablespace;
            // the relations of the MVs' schema come out unqualified (bound, when built, to the scratch schema's first),
            // everything else qualified
            Session.setLocal(c, "search_path", ident(schema) + ", pg_catalog");
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT pg_get_viewdef(c.oid), c.relname, c.relkind = 'm',
                           (SELECT string_agg(o, ', ') FROM unnest(c.reloptions) o),
                           (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = c.reltablespace),
                           (SELECT string_agg('toast.' || o, ', ') FROM pg_class t, unnest(t.reloptions) o WHERE t.oid = c.reltoastrelid)
                    FROM pg_class c WHERE c.oid = ?
                    """)) {
                ps.setLong(1, oid);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    query = rs.getString(1).trim().replaceAll(";$", "");
                    name = rs.getString(2);
                    materialized = rs.getBoolean(3);
                    options = join(rs.getString(4), rs.getString(6));
                    tablespace = rs.getString(5);
                }
            }
            Session.setLocal(c, "search_path", "pg_catalog");
            List<IndexSpec> indexes = RelationCatalog.indexes(c, oid);
            List<String> columns = RelationCatalog.columns(c, oid);
            return new Member(oid, name, materialized, query, columns, options, tablespace, indexes);
        });
    }

    /** One new relation in the scratch schema, with everything it carries; the rows of an MV, null for a view. */
    private Long build(String scratch, Member m, Carry carry, Analyzes analyzes, IndexBuilds.Shared indexes) throws SQLException {
        String target = q(scratch, m.name());
        exec(SideBySideSwap.createRelation(m.materialized(), target, m.columns(), m.options(), m.tablespace(), m.query()));
        carry.ownerTo(c, target);
        if (!m.materialized()) {
            carry.apply(c, scratch, target, List.of(), name -> name);
            return null;
        }
        // PostgreSQL's REFRESH: the query as the owner, in its restricted mode, reading the new upstream
        exec("REFRESH MATERIALIZED VIEW " + target);
        // the previous MV's ANALYZE ran beside this REFRESH; the index builds take two sessions of their own:
        // never three busy backends at once (readers share the cores)
        analyzes.await();
        new IndexBuilds(c, indexes, name -> name).build(scratch, m.name(), m.indexes());
        long rows = m.indexes().isEmpty() ? 0 : reltuples(target);
        carry.apply(c, scratch, target, m.indexes(), name -> name);
        analyzes.analyze(target);
        if (rows <= 0) {
            rows = Session.number(c, 0, "SELECT count(*) FROM " + target);
        }
        return rows;
    }

    private Result swap(String schema, String scratch, List<Member> members, Map<String, Long> rows, long buildMillis, long rootOid,
                        InChainSwap inSwap) throws SQLException {
        SQLException last = null;
        for (int attempt = 1; attempt <= SideBySideSwap.SWAP_ATTEMPTS; attempt++) {
            c.setAutoCommit(false);
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                Session.setLocal(c, "lock_timeout", lockTimeout);
                // dependents first: each DROP takes ACCESS EXCLUSIVE on one old relation; new readers queue until the commit
                for (int i = members.size() - 1; i >= 0; i--) {
                    Member m = members.get(i);
                    st.execute("DROP " + m.kind() + " " + q(schema, m.name()));
                }
                long locked = System.nanoTime();
                for (Member m : members) {
                    st.execute("ALTER " + m.kind() + " " + q(scratch, m.name()) + " SET SCHEMA " + ident(schema));
                }
                if (inSwap != null) {
                    inSwap.run(c, rows);
                }
                c.commit();
                long done = System.nanoTime();
                c.setAutoCommit(true);
                return new Result(rows, buildMillis, (locked - t0) / 1_000_000, (done - locked) / 1_000_000, attempt);
            } catch (SQLException e) {
                c.rollback();
                c.setAutoCommit(true);
                if (!"55P03".equals(e.getSQLState())) {
                    throw e;
                }
                last = e;
                try {
                    Thread.sleep(200L * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        throw new SQLException("chain swap of " + schema + " gave up after " + SideBySideSwap.SWAP_ATTEMPTS + " attempts of lock_timeout "
                + Durations.human(lockTimeout) + " each (" + last.getMessage() + ")", last.getSQLState(), last);
    }

    private long reltuples(String table) throws SQLException {
        return Session.number(c, 0, "SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass", table);
    }

    static String[] split(Connection c, String qualified) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?::regclass")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new String[] {rs.getString(1), rs.getString(2)};
            }
        }
    }

    private static String join(String a, String b) {
        if (a == null || a.isEmpty()) {
            return b == null || b.isEmpty() ? null : b;
        }
        return b == null || b.isEmpty() ? a : a + ", " + b;
    }

    private void exec(String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
