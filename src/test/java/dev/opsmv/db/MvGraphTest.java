package dev.opsmv.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.opsmv.testing.Deployed;

// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class MvGraphTest {
    static ConnectionSpec db;

    @BeforeAll
    static void deploy() {
        db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
    }

    @Test
    void readsTheBundleDependenciesFromTheCatalogIncludingThroughThePlainView() throws Exception {
        MvGraph graph;
        try (Connection c = db.open()) {
            graph = MvGraph.load(c);
        }
        assertEquals(7, graph.materializedViews().size());
        // The driver matrix MV reads the plain view, which reads the ledger MV.
        assertEquals(Set.of("ops.mv_yango_payments_ledger_latest"), graph.upstreamOf("ops.mv_payments_driver_matrix_cabinet"));
        assertEquals(Set.of("ops.mv_yango_payments_ledger_latest", "ops.mv_yango_payments_raw_current"),
                graph.upstreamOf("ops.mv_claims_payment_status_cabinet"));
        assertTrue(graph.downstreamOf("ops.mv_yango_payments_raw_current").containsAll(Set.of(
                "ops.mv_yango_payments_ledger_latest", "ops.mv_payments_driver_matrix_cabinet",
                "ops.mv_yango_cabinet_claims_for_collection", "ops.mv_yango_receivable_payable_detail")));

        List<String> order = graph.refreshOrder(graph.materializedViews());
        assertEquals(7, order.size());
        for (String mv : order) {
            for (String up : graph.upstreamOf(mv)) {
                assertTrue(order.indexOf(up) < order.indexOf(mv), up + " must refresh before " + mv + " in " + order);
            }
        }
    }

    /**
     * The bundle's SQL function ops.opsmv_mvs_upstream (v1.3, what the pg_cron procedure skips by) and this graph
     * must agree on every MV of the bundle. They answer different questions: the function gives every MV upstream,
     * through MVs too; the graph gives the MVs read directly or through plain views. The function is therefore
     * compared with the graph's closure.
     */
    @Test
    void theBundleFunctionGivesTheClosureOfTheGraphForEveryMv() throws Exception {
        MvGraph graph;
        Map<String, Set<String>> function = new TreeMap<>();
        try (Connection c = db.open()) {
            graph = MvGraph.load(c);
            for (String mv : graph.materializedViews()) {
                Set<String> ups = new TreeSet<>();
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT quote_ident(n.nspname) || '.' || quote_ident(k.relname)
                        FROM ops.opsmv_mvs_upstream(?::regclass) u
                        JOIN pg_class k ON k.oid = u JOIN pg_namespace n ON n.oid = k.relnamespace""")) {
                    ps.setString(1, mv);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            ups.add(rs.getString(1));
                        }
                    }
                }
                function.put(mv, ups);
            }
        }
        assertEquals(7, function.size());
        Map<String, Set<String>> closure = new TreeMap<>();
        for (String mv : graph.materializedViews()) {
            Set<String> all = new TreeSet<>();
            Deque<String> todo = new ArrayDeque<>(graph.upstreamOf(mv));
            while (!todo.isEmpty()) {
                String up = todo.pop();
                if (all.add(up)) {
                    todo.addAll(graph.upstreamOf(up));
                }
            }
            closure.put(mv, all);
        }
        assertEquals(closure, function);
        // Not interchangeable: health's stale upstream and the plan's "upstream" name the direct ones only, and a
        // direct read beside a longer path (the claims status MV reads raw_current itself and through ledger_latest)
        // cannot be told from the function's answer.
        assertNotEquals(graph.upstreamOf("ops.mv_payments_driver_matrix_cabinet"), function.get("ops.mv_payments_driver_matrix_cabinet"));
        assertEquals(Set.of("ops.mv_yango_payments_ledger_latest", "ops.mv_yango_payments_raw_current"),
                function.get("ops.mv_claims_payment_status_cabinet"));
    }

    @Test
    void detectsACycle() {
        Map<String, Set<String>> edges = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new MvGraph(edges).refreshOrder(edges.keySet()));
        assertTrue(e.getMessage().contains("a, b, c"), e.getMessage());
    }
}
