package dev.opsmv.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The dependency graph of materialized views as the catalog records it: an MV depends on every MV
 * its query reads, directly or through any number of plain views (pg_rewrite → pg_depend).
 * Names are "schema.name". Refresh order is a topological sort of this graph, never a hand list.
 * Shared by refresh (order, chains), health (stale upstream) and the benchmark.
 *
 * <p>The bundle's ops.opsmv_mvs_upstream (release v1.3, the pg_cron procedure's) is not read instead: it
 * answers every MV upstream, through MVs too, and a direct read beside a longer path cannot be told from its
 * answer, while {@link #upstreamOf} is the direct ones that health and the plan name. MvGraphTest checks that
 * the function gives this graph's closure for every MV of the bundle.
 */
public final class MvGraph {
    /** mv → the MVs it reads (directly or through views). Sorted for deterministic output. */
    private final Map<String, Set<String>> upstream;

    MvGraph(Map<String, Set<String>> upstream) {
        this.upstream = upstream;
    }

    /** Reads every MV of the database and what each reads. */
    public static MvGraph load(Connection c) throws SQLException {
        Map<String, Character> kind = new HashMap<>();
        Map<String, Set<String>> reads = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT quote_ident(dn.nspname) || '.' || quote_ident(dc.relname) AS dependent, dc.relkind::text AS dependent_kind,
                       quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) AS referenced, rc.relkind::text AS referenced_kind
                FROM pg_rewrite rw
                JOIN pg_class dc ON dc.oid = rw.ev_class
                JOIN pg_namespace dn ON dn.oid = dc.relnamespace
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
                JOIN pg_class rc ON rc.oid = d.refobjid
                JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                WHERE dc.relkind IN ('v', 'm') AND rc.relkind IN ('v', 'm')
                  AND dn.nspname NOT IN ('pg_catalog', 'information_schema')
                UNION
                SELECT quote_ident(schemaname) || '.' || quote_ident(matviewname), 'm', NULL, NULL FROM pg_matviews
                """);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String dependent = rs.getString(1);
                kind.put(dependent, rs.getString(2).charAt(0));
                reads.computeIfAbsent(dependent, k -> new TreeSet<>());
                if (rs.getString(3) != null) {
                    kind.put(rs.getString(3), rs.getString(4).charAt(0));
                    reads.get(dependent).add(rs.getString(3));
                }
            }
        }
        Map<String, Set<String>> upstream = new TreeMap<>();
        for (Map.Entry<String, Character> e : kind.entrySet()) {
            if (e.getValue() == 'm') {
                upstream.put(e.getKey(), mvsReadBy(e.getKey(), reads, kind));
            }
        }
        return new MvGraph(upstream);
    }

    /** The MVs reachable from {@code mv} through plain views only (the first MV on each path). */
    private static Set<String> mvsReadBy(String mv, Map<String, Set<String>> reads, Map<String, Character> kind) {
        Set<String> found = new TreeSet<>();
        Set<String> seenViews = new java.util.HashSet<>();
        Deque<String> todo = new ArrayDeque<>(reads.getOrDefault(mv, Set.of()));
        while (!todo.isEmpty()) {
            String rel = todo.pop();
            if (kind.get(rel) == 'm') {
                found.add(rel);
            } else if (seenViews.add(rel)) {
                todo.addAll(reads.getOrDefault(rel, Set.of()));
            }
        }
        return found;
    }

    public Set<String> materializedViews() {
        return Collections.unmodifiableSet(upstream.keySet());
    }

    public boolean contains(String mv) {
        return upstream.containsKey(mv);
    }

    /** The MVs {@code mv} reads directly or through views. */
    public Set<String> upstreamOf(String mv) {
        return Collections.unmodifiableSet(upstream.getOrDefault(mv, Set.of()));
    }

    /** Every MV that reads {@code mv}, transitively. */
    public Set<String> downstreamOf(String mv) {
        Set<String> out = new TreeSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(mv));
        while (!todo.isEmpty()) {
            String cur = todo.pop();
            for (Map.Entry<String, Set<String>> e : upstream.entrySet()) {
                if (e.getValue().contains(cur) && out.add(e.getKey())) {
                    todo.push(e.getKey());
                }
            }
        }
        return out;
    }

    /**
     * {@code selected} in an order where every MV comes after the MVs it reads (ties by name).
     * Throws {@link IllegalStateException} naming the MVs of a cycle.
     */
    public List<String> refreshOrder(Collection<String> selected) {
        Set<String> wanted = new TreeSet<>(selected);
        Map<String, Integer> pending = new TreeMap<>();
        for (String mv : wanted) {
            int n = 0;
            for (String up : upstreamOf(mv)) {
                if (wanted.contains(up)) {
                    n++;
                }
            }
            pending.put(mv, n);
        }
        List<String> order = new ArrayList<>();
        TreeSet<String> ready = new TreeSet<>();
        pending.forEach((mv, n) -> {
            if (n == 0) {
                ready.add(mv);
            }
        });
        while (!ready.isEmpty()) {
            String mv = ready.pollFirst();
            order.add(mv);
            for (String other : wanted) {
                if (upstreamOf(other).contains(mv) && pending.merge(other, -1, Integer::sum) == 0) {
                    ready.add(other);
                }
            }
        }
        if (order.size() < wanted.size()) {
            Set<String> cycle = new LinkedHashSet<>(wanted);
            order.forEach(cycle::remove);
            throw new IllegalStateException("materialized views depend on each other in a cycle: " + String.join(", ", cycle));
        }
        return order;
    }
}
