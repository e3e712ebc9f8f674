package dev.opsmv.testing;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading what a plan did, from EXPLAIN (ANALYZE, FORMAT JSON). */
public final class Plans {
    private Plans() {
    }

    /**
     * Rows the plan read from {@code relation}: returned plus removed by a filter, over every node that scans
     * it and every loop. What a test asserts to show a lookup reads a few rows, not the whole table.
     */
    public static long rowsRead(JsonNode node, String relation) {
        long n = 0;
        if (relation.equals(node.path("Relation Name").asText())) {
            n += (node.path("Actual Rows").asLong() + node.path("Rows Removed by Filter").asLong()) * Math.max(1, node.path("Actual Loops").asLong());
        }
        for (JsonNode child : node.path("Plans")) {
            n += rowsRead(child, relation);
        }
        return n;
    }
}
