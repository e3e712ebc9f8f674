package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.api.DriverMatrixQuery;
import dev.opsmv.db.DriverMatrixRelation;
import dev.opsmv.db.Session;
import dev.opsmv.db.Relations;

/** The endpoint's typical query (origin_tag=cabinet, default window): the MV has its columns, and an MV index can serve it. */
final class EndpointPlanChecks {
    private static final Check.Section SECTION = Check.Section.ENDPOINT_PLAN;
    private static final List<String> ENDPOINT_INDEXES = List.of(
            "idx_mv_payments_driver_matrix_cabinet_origin_week", "ux_mv_payments_driver_matrix_cabinet_grain");

    private EndpointPlanChecks() {
    }

    /** The typical query the timing checks run next, or null when the MV lacks what any request reads (they would only fail). */
    static DriverMatrixQuery run(Connection c, Checklist list) throws SQLException {
        DriverMatrixQuery typical = DriverMatrixQuery.parse(Map.of("origin_tag", List.of("cabinet")), LocalDate.now(ZoneOffset.UTC));
        List<String> missing = Relations.missingColumns(c, "ops", DriverMatrixRelation.MV_NAME, List.of("week_start", "driver_id", "origin_tag"));
        if (!missing.isEmpty()) {
            boolean filterOnly = missing.equals(List.of("origin_tag"));
            list.add(SECTION, false, "endpoint columns on the MV", Relations.missingColumnsLine(DriverMatrixRelation.MV, missing, filterOnly
                    ? "the endpoint answers 400 to origin_tag; the endpoint checks below use a request without it"
                    : "the endpoint cannot serve the driver matrix from it"));
            if (!filterOnly) {
                return null;
            }
            typical = DriverMatrixQuery.parse(Map.of(), LocalDate.now(ZoneOffset.UTC));
        }
        explain(c, typical, list);
        return typical;
    }

    /**
     * The endpoint's typical query must be able to use an MV index. On small tables the planner rightly
     * prefers a sequential scan, so the EXPLAIN runs with enable_seqscan = off (SET LOCAL, rolled back):
     * the question is whether an index CAN serve the query, not which plan wins on today's row count.
     */
    private static void explain(Connection c, DriverMatrixQuery q, Checklist list) throws SQLException {
        String label = "endpoint query planned on an MV index";
        c.setAutoCommit(false);
        try {
            Session.setLocal(c, "enable_seqscan", "off");
            String json = Session.text(c, "EXPLAIN (FORMAT JSON) " + q.literalSql(DriverMatrixRelation.MV));
            JsonNode plan = new ObjectMapper().readTree(json).get(0).get("Plan");
            List<String> indexes = new ArrayList<>();
            List<String> seqScans = new ArrayList<>();
            walk(plan, indexes, seqScans);
            boolean ok = indexes.stream().anyMatch(ENDPOINT_INDEXES::contains) && seqScans.isEmpty();
            list.add(SECTION, ok, label, (ok ? "" : "NOT on the index: ") + summary(plan) + " — " + q.literalSql(DriverMatrixRelation.MV)
                    + " [EXPLAIN with enable_seqscan = off]");
        } catch (SQLException e) {
            list.add(SECTION, false, label, "EXPLAIN failed: " + e.getMessage());
        } catch (Exception e) {
            list.add(SECTION, false, label, "cannot read the plan: " + e.getMessage());
        } finally {
            c.rollback();
            c.setAutoCommit(true);
        }
    }

    private static void walk(JsonNode node, List<String> indexes, List<String> seqScans) {
        if (node.has("Index Name")) {
            indexes.add(node.get("Index Name").asText());
        }
        if ("Seq Scan".equals(node.path("Node Type").asText())) {
            seqScans.add(node.path("Relation Name").asText());
        }
        for (JsonNode child : node.path("Plans")) {
            walk(child, indexes, seqScans);
        }
    }

    private static String summary(JsonNode node) {
        StringBuilder sb = new StringBuilder(node.path("Node Type").asText());
        if (node.has("Scan Direction") && !"Forward".equals(node.get("Scan Direction").asText())) {
            sb.append(" ").append(node.get("Scan Direction").asText());
        }
        if (node.has("Index Name")) {
            sb.append(" using ").append(node.get("Index Name").asText());
        }
        if (node.has("Relation Name")) {
            sb.append(" on ").append(node.get("Relation Name").asText());
        }
        List<String> kids = new ArrayList<>();
        for (JsonNode child : node.path("Plans")) {
            kids.add(summary(child));
        }
        return kids.isEmpty() ? sb.toString() : sb + " ← " + String.join(", ", kids);
    }
}
