package dev.opsmv.verify;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One checklist line: ✓, ✗, or a WARNING (something worth doing that does not fail the checklist).
 * {@code section} orders and groups the lines; it is not part of the JSON item (docs/schemas/verify.v1.schema.json).
 */
public record Check(@JsonIgnore Section section, boolean ok, String name, String detail, boolean warning) {
    /** The checklist's sections, in the order they run (docs/MONITORING.md#verify--the-post-deployment-checklist). */
    public enum Section { OBJECTS, HEALTH_VIEWS, DUPLICATE_GRAINS, SIZES, LAST_REFRESH, ENDPOINT_PLAN, ENDPOINT_TIMING }

    public String line() {
        return (warning ? "WARNING " : ok ? "✓ " : "✗ ") + name + (detail == null || detail.isEmpty() ? "" : ": " + detail);
    }
}
