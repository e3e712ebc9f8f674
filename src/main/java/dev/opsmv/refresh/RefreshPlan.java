package dev.opsmv.refresh;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.opsmv.db.MvGraph;
import dev.opsmv.db.Sizes;
import dev.opsmv.swap.SideBySideSwap;

/**
 * Which MVs a run refreshes, in which order, and how each would be refreshed. The order is
 * {@link MvGraph#refreshOrder} of the catalog's dependency graph; the method is decided from the
 * catalog per MV ({@link RefreshMethod}).
 */
public final class RefreshPlan {
    /** A name that is not a materialized view of the database (exit code USAGE). */
    public static final class UnknownMv extends IllegalArgumentException {
        public UnknownMv(String message) {
            super(message);
        }
    }

    private final MvGraph graph;
    private final Map<String, RefreshMethod> steps;
    /** Chain swaps: the MV at the top of each, with the MVs swapped with it (itself first, upstream first). */
    private final Map<String, List<String>> chains;
    /** MVs asked to be swapped that cannot be, even with their dependents: why (they fall back to CONCURRENTLY). */
    private final Map<String, String> swapFallbacks;

    private RefreshPlan(MvGraph graph, Map<String, RefreshMethod> steps, Map<String, List<String>> chains, Map<String, String> swapFallbacks) {
        this.graph = graph;
        this.steps = steps;
        this.chains = chains;
        this.swapFallbacks = swapFallbacks;
    }

    /**
     * @param names   MVs as given: "mv_x" (schema ops) or "schema.mv_x"
     * @param all     add every MV of ops.mv_refresh_policy with refresh_enabled (the bundle's MVs)
     * @param cascade add every MV downstream of the named ones
     */
    public static RefreshPlan build(Connection c, Collection<String> names, boolean all, boolean cascade, RefreshMode mode)
            throws SQLException {
        return build(c, names, all, cascade, mode, null);
    }

    /**
     * As {@link #build(Connection, Collection, boolean, boolean, RefreshMode)}; {@code swapSpaceLimit}: the bytes a swap
     * may need free a second time (pg_total_relation_size of what it rebuilds); above it the MVs are refreshed
     * CONCURRENTLY instead (PLAIN where PostgreSQL cannot), the reason logged. Null: no limit.
     */
    public static RefreshPlan build(Connection c, Collection<String> names, boolean all, boolean cascade, RefreshMode mode,
                                    Long swapSpaceLimit) throws SQLException {
        MvGraph graph = MvGraph.load(c);
        Set<String> selected = new TreeSet<>();
        for (String name : names) {
            selected.add(resolve(graph, name));
        }
        if (all) {
            selected.addAll(policyMvs(c, graph));
        }
        if (cascade) {
            for (String mv : List.copyOf(selected)) {
                selected.addAll(graph.downstreamOf(mv));
            }
        }
        Map<String, RefreshMethod> steps = new LinkedHashMap<>();
        for (String mv : graph.refreshOrder(selected)) {
            steps.put(mv, RefreshMethod.decide(c, mv, mode));
        }
        Map<String, String> swapFallbacks = new LinkedHashMap<>();
        Map<String, List<String>> chains = chains(c, graph, selected, steps, mode, swapFallbacks, swapSpaceLimit);
        if (swapSpaceLimit != null) {
            for (Map.Entry<String, RefreshMethod> e : steps.entrySet()) {
                String mv = e.getKey();
                if (RefreshMethod.SWAP.equals(e.getValue().method()) && chains.values().stream().noneMatch(m -> m.contains(mv))) {
                    long space = bytes(c, List.of(mv), "pg_total_relation_size(oid)");
                    if (space > swapSpaceLimit) {
                        String why = overLimit(space, swapSpaceLimit, "no swap");
                        swapFallbacks.put(mv, why);
                        e.setValue(withoutSwap(c, mv, why));
                    }
                }
            }
        }
        return new RefreshPlan(graph, steps, chains, swapFallbacks);
    }

    /**
     * An MV that others read is swapped with its whole downstream subgraph when the run refreshes all of it
     * (--cascade, --all): asked with --method swap, or chosen by auto when the subgraph's MVs take at least
     * {@link RefreshMethod#SWAP_MIN_BYTES} together (below that, CONCURRENTLY of each costs less than the
     * rebuild's fixed cost). What cannot be swapped keeps its own method, the reason in its line.
     */
    private static Map<String, List<String>> chains(Connection c, MvGraph graph, Set<String> selected, Map<String, RefreshMethod> steps,
                                                     RefreshMode mode, Map<String, String> swapFallbacks, Long swapSpaceLimit) throws SQLException {
        Map<String, List<String>> chains = new LinkedHashMap<>();
        if (mode != RefreshMode.SWAP && mode != RefreshMode.AUTO) {
            return chains;
        }
        Set<String> taken = new TreeSet<>();
        for (String mv : List.copyOf(steps.keySet())) {
            Set<String> downstream = graph.downstreamOf(mv);
            if (taken.contains(mv) || downstream.isEmpty() || !selected.containsAll(downstream)) {
                continue;
            }
            String[] sn = RefreshLog.split(mv);
            List<String> obstacles = SideBySideSwap.chainObstacles(c, sn[0], sn[1]);
            List<String> members = new ArrayList<>();
            for (String m : SideBySideSwap.chain(c, sn[0], sn[1])) {
                if (graph.contains(m)) {
                    members.add(m);
                }
            }
            RefreshMethod own = steps.get(mv);
            if (!obstacles.isEmpty()) {
                if (mode == RefreshMode.SWAP) {
                    // asked to swap what cannot be swapped with its dependents: refreshed the way that keeps readers going
                    // where PostgreSQL allows it (CONCURRENTLY), the reason logged; never a failure for that alone
                    String why = "no chain swap: " + String.join("; ", obstacles);
                    swapFallbacks.put(mv, why);
                    steps.put(mv, withoutSwap(c, mv, why));
                } else if (own.method() != null) {
                    steps.put(mv, new RefreshMethod(own.method(), own.fallbackReason(), own.refusal(),
                            own.why() + "; no chain swap: " + String.join("; ", obstacles)));
                }
                continue;
            }
            long bytes = bytes(c, members, "relpages::bigint * current_setting('block_size')::bigint");
            if (mode == RefreshMode.AUTO && bytes < RefreshMethod.SWAP_MIN_BYTES) {
                continue;
            }
            // the new subgraph stands beside the old one until the swap: its size (with indexes) is needed free again
            long space = bytes(c, members, "pg_total_relation_size(oid)");
            if (swapSpaceLimit != null && space > swapSpaceLimit) {
                String why = overLimit(space, swapSpaceLimit, "no chain swap");
                if (mode == RefreshMode.SWAP) {
                    swapFallbacks.put(mv, why);
                    steps.put(mv, withoutSwap(c, mv, why));
                } else if (own.method() != null) {
                    steps.put(mv, new RefreshMethod(own.method(), own.fallbackReason(), own.refusal(), own.why() + "; " + why));
                }
                continue;
            }
            chains.put(mv, members);
            taken.addAll(members);
            steps.put(mv, new RefreshMethod(RefreshMethod.SWAP, null, null, "rebuilt with " + (members.size() - 1)
                    + " MV(s) and the views that read it beside them, swapped in together; needs about "
                    + String.format(java.util.Locale.ROOT, "%.1f MB", space / 1048576.0) + " free while they are built"));
            for (String m : members.subList(1, members.size())) {
                steps.put(m, new RefreshMethod(RefreshMethod.SWAP, null, null, "swapped with " + mv));
            }
        }
        return chains;
    }

    private static String overLimit(long space, long limit, String what) {
        return what + ": needs " + Sizes.mb(space) + " free a second time, over --swap-space-limit " + Sizes.mb(limit);
    }

    /** CONCURRENTLY where PostgreSQL allows it, else PLAIN, with {@code why} as the logged fallback reason. */
    static RefreshMethod withoutSwap(Connection c, String mv, String why) throws SQLException {
        RefreshMethod other = RefreshMethod.decide(c, mv, RefreshMode.CONCURRENTLY);
        return other.refusal() == null
                ? new RefreshMethod(RefreshMethod.CONCURRENTLY, why, null, "fallback: " + why)
                : new RefreshMethod(RefreshMethod.PLAIN, why + "; " + other.refusal(), null, "fallback: " + why + "; " + other.refusal());
    }

    /**
     * The method to run {@code mv} with now, in the refresh's own transaction: decided again from the catalog
     * (it may have changed since the plan), except where the plan fell back from a swap it was asked for.
     */
    public RefreshMethod decideNow(Connection c, String mv, RefreshMode mode) throws SQLException {
        String fallback = swapFallbacks.get(mv);
        return fallback != null ? withoutSwap(c, mv, fallback) : RefreshMethod.decide(c, mv, mode);
    }

    private static long bytes(Connection c, List<String> mvs, String size) throws SQLException {
        long total = 0;
        for (String mv : mvs) {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + size + " FROM pg_class WHERE oid = ?::regclass")) {
                ps.setString(1, mv);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total += rs.getLong(1);
                }
            }
        }
        return total;
    }

    /** The MVs swapped with {@code mv} when it tops a chain swap (itself first); empty otherwise. */
    public List<String> chain(String mv) {
        return chains.getOrDefault(mv, List.of());
    }

    /** The MV whose chain swap refreshes {@code mv}, or null. */
    public String chainOf(String mv) {
        for (Map.Entry<String, List<String>> e : chains.entrySet()) {
            if (e.getValue().contains(mv)) {
                return e.getKey();
            }
        }
        return null;
    }

    static String resolve(MvGraph graph, String name) {
        String n = name.trim();
        List<String> candidates = n.contains(".") ? List.of(n, quoted(n)) : List.of("ops." + n, "ops." + quoteIdent(n));
        for (String cand : candidates) {
            if (graph.contains(cand)) {
                return cand;
            }
        }
        throw new UnknownMv("unknown materialized view '" + name + "': not in the database (known: "
                + String.join(", ", graph.materializedViews()) + ")");
    }

    private static String quoted(String qualified) {
        int dot = qualified.indexOf('.');
        return quoteIdent(qualified.substring(0, dot)) + "." + quoteIdent(qualified.substring(dot + 1));
    }

    private static String quoteIdent(String s) {
        return s.matches("[a-z_][a-z0-9_$]*") ? s : "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static List<String> policyMvs(Connection c, MvGraph graph) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT quote_ident(schema_name) || '.' || quote_ident(mv_name) FROM ops.mv_refresh_policy WHERE refresh_enabled ORDER BY 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                // A policy row for an MV that does not exist (dropped, rolled back) is not refreshable: skip it.
                if (graph.contains(rs.getString(1))) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    public MvGraph graph() {
        return graph;
    }

    /** The MVs in refresh order. */
    public List<String> order() {
        return List.copyOf(steps.keySet());
    }

    /** Human-readable plan for --dry-run. */
    /** One MV of the plan: its method (null: refused), why, and the MVs it waits for. */
    public record Step(String mv, String method, String why, List<String> after) {
    }

    /** The plan in order, as data (refresh --dry-run --format json). */
    public List<Step> steps() {
        List<Step> out = new ArrayList<>();
        for (Map.Entry<String, RefreshMethod> e : steps.entrySet()) {
            out.add(new Step(e.getKey(), e.getValue().method(), e.getValue().why(), List.copyOf(new TreeSet<>(graph.upstreamOf(e.getKey())))));
        }
        return out;
    }

    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        lines.add("plan: " + steps.size() + " materialized view(s), in dependency order (nothing is changed with --dry-run)");
        int i = 1;
        int width = steps.keySet().stream().mapToInt(String::length).max().orElse(10);
        for (Map.Entry<String, RefreshMethod> e : steps.entrySet()) {
            RefreshMethod m = e.getValue();
            Set<String> ups = new TreeSet<>(graph.upstreamOf(e.getKey()));
            lines.add(String.format("%3d. %-" + width + "s  %-12s  %s%s", i++, e.getKey(),
                    m.method() == null ? "REFUSED" : m.method(), m.why(),
                    ups.isEmpty() ? "" : "; after " + String.join(", ", ups)));
        }
        return lines;
    }
}
