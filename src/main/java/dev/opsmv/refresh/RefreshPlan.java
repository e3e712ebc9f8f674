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

    private RefreshPlan(MvGraph graph, Map<String, RefreshMethod> steps) {
        this.graph = graph;
        this.steps = steps;
    }

    /**
     * @param names   MVs as given: "mv_x" (schema ops) or "schema.mv_x"
     * @param all     add every MV of ops.mv_refresh_policy with refresh_enabled (the bundle's MVs)
     * @param cascade add every MV downstream of the named ones
     */
    public static RefreshPlan build(Connection c, Collection<String> names, boolean all, boolean cascade, RefreshMode mode)
            throws SQLException {
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
        return new RefreshPlan(graph, steps);
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
