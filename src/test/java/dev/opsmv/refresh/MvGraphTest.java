package dev.opsmv.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
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

    @Test
    void detectsACycle() {
        Map<String, Set<String>> edges = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new MvGraph(edges).refreshOrder(edges.keySet()));
        assertTrue(e.getMessage().contains("a, b, c"), e.getMessage());
    }
}
