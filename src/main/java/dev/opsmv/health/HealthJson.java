package dev.opsmv.health;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON document of `health --format json` and `GET /health`. Its fields are a contract
 * (documented in docs/MONITORING.md, "health JSON"): fields are only ever added, never renamed or removed.
 * Times are ISO-8601 in UTC; absent values are JSON null, never omitted.
 */
public final class HealthJson {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Version of the document's shape; bumped only if a field ever had to change meaning. */
    public static final int FORMAT_VERSION = 1;
    /** Its JSON Schema, docs/schemas/health.v1.schema.json (the same name as the other commands' documents). */
    public static final String SCHEMA = "opsmv.health/1";

    private HealthJson() {
    }

    public static ObjectNode document(HealthReport report) {
        ObjectNode doc = MAPPER.createObjectNode();
        doc.put("format_version", FORMAT_VERSION);
        doc.put("schema", SCHEMA);
        doc.put("status", report.overall().name());
        doc.put("exit_code", report.overall().exitCode());
        doc.put("checked_at", time(report.checkedAt()));
        // Where the check ran (added fields, format 1): on a standby, the log rows are the replayed ones.
        doc.put("in_recovery", report.replication().inRecovery());
        doc.put("replay_paused", report.replication().replayPaused());
        doc.put("replay_lag_seconds", report.replication().replayLagSeconds());
        // Why "status" can be WARN while a row says CRIT: those rows' MVs are not critical (added field, format 1).
        ArrayNode capped = doc.putArray("crit_counted_as_warn");
        report.critCountedAsWarn().forEach(capped::add);
        ArrayNode mvs = doc.putArray("mvs");
        for (MvHealth m : report.mvs()) {
            ObjectNode o = mvs.addObject();
            o.put("schema", m.schema());
            o.put("mv", m.name());
            o.put("status", m.status().name());
            o.put("bucket", m.bucket());
            o.put("is_critical", m.critical());
            o.put("exists", m.exists());
            o.put("populated", m.populated());
            o.put("warn_after_hours", m.warnAfterHours());
            o.put("crit_after_hours", m.critAfterHours());
            o.put("last_ok_refresh_finished_at", time(m.lastOkRefreshFinishedAt()));
            o.put("hours_since_ok_refresh", m.hoursSinceOkRefresh());
            o.put("replay_lag_seconds", m.replayLagSeconds());
            o.put("freshness_seconds", m.freshnessSeconds());
            o.put("last_ok_duration_ms", m.lastOkDurationMs());
            o.put("rows_after_last_ok_refresh", m.rowsAfterLastOkRefresh());
            o.put("last_status", m.lastStatus());
            o.put("last_refresh_started_at", time(m.lastRefreshStartedAt()));
            o.put("last_error", m.lastError());
            if (m.running() == null) {
                o.putNull("running");
            } else {
                ObjectNode r = o.putObject("running");
                r.put("since", time(m.running().since()));
                r.put("backend_pid", m.running().backendPid());
                r.put("minutes", m.running().minutes());
                r.put("stuck_after_minutes", m.running().stuckAfterMinutes());
                r.put("stuck", m.running().stuck());
                r.put("backend_alive", m.running().backendAlive());
            }
            ArrayNode stale = o.putArray("stale_upstream");
            for (MvHealth.StaleUpstream s : m.staleUpstream()) {
                ObjectNode so = stale.addObject();
                so.put("mv", s.mv());
                so.put("last_ok_refresh_finished_at", time(s.lastOkRefreshFinishedAt()));
            }
            ArrayNode reasons = o.putArray("reasons");
            m.reasons().forEach(reasons::add);
        }
        return doc;
    }

    /** The document for when the check itself could not run (cannot connect or query): status UNKNOWN. */
    public static ObjectNode unknown(String error) {
        ObjectNode doc = MAPPER.createObjectNode();
        doc.put("format_version", FORMAT_VERSION);
        doc.put("schema", SCHEMA);
        doc.put("status", Level.UNKNOWN.name());
        doc.put("exit_code", Level.UNKNOWN.exitCode());
        doc.put("checked_at", time(OffsetDateTime.now()));
        doc.putNull("in_recovery");
        doc.putNull("replay_paused");
        doc.putNull("replay_lag_seconds");
        doc.put("error", error);
        doc.putArray("crit_counted_as_warn");
        doc.putArray("mvs");
        return doc;
    }

    private static final ObjectMapper COMPACT = new ObjectMapper();

    /** Without indentation: HTTP bodies (a page of 100 matrix rows is a third smaller, and cheaper to write). */
    public static String writeCompact(Object node) {
        try {
            return COMPACT.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String write(Object node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String time(OffsetDateTime t) {
        return t == null ? null : DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(t.withOffsetSameInstant(ZoneOffset.UTC));
    }
}
