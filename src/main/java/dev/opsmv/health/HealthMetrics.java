package dev.opsmv.health;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * A health report as Prometheus metrics (Prometheus Java client 1.x, text exposition format 0.0.4).
 * Each MV's samples carry the labels {@code schema} and {@code mv}. Metrics whose value is unknown
 * (no OK refresh logged) are left out for that MV rather than given a made-up value.
 */
public final class HealthMetrics {
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;
    private static final String[] LEVELS = {"OK", "WARN", "CRIT"};
    private static final String[] BUCKETS = {"OK", "WARN", "CRIT", "NO_REFRESH"};

    private HealthMetrics() {
    }

    /** The report's metrics in a fresh registry (a health check is a snapshot, not a running process). */
    public static PrometheusRegistry registry(HealthReport report) {
        PrometheusRegistry reg = new PrometheusRegistry();
        Gauge up = gauge(reg, "opsmv_health_up", "1 when the health check could read the database, 0 when it could not");
        Gauge overall = gauge(reg, "opsmv_health_exit_code",
                "Overall health as a Nagios exit code: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN");
        up.set(1);
        overall.set(report.overall().exitCode());
        gauge(reg, "opsmv_in_recovery", "1 when the database read is a standby (in recovery): its MVs are the primary's as replayed")
                .set(report.replication().inRecovery() ? 1 : 0);
        gauge(reg, "opsmv_replay_paused", "1 when WAL replay is paused on this standby").set(report.replication().replayPaused() ? 1 : 0);
        gauge(reg, "opsmv_replay_lag_seconds",
                "How far this standby's replay is behind: now() - pg_last_xact_replay_timestamp() while WAL it received is not replayed; "
                        + "0 on a primary and on a standby that has replayed all it received")
                .set(report.replication().replayLagSeconds());

        Gauge status = gauge(reg, "opsmv_mv_status", "1 for the MV's current health level (label status: OK, WARN, CRIT), 0 for the others",
                "schema", "mv", "status");
        Gauge bucket = gauge(reg, "opsmv_mv_freshness_bucket",
                "1 for the MV's freshness bucket from ops.v_mv_health (OK, WARN, CRIT, NO_REFRESH), 0 for the others",
                "schema", "mv", "bucket");
        Gauge critical = gauge(reg, "opsmv_mv_critical",
                "1 when ops.mv_refresh_policy.is_critical: its CRIT makes the overall health CRIT; 0: its CRIT counts as WARN overall",
                "schema", "mv");
        Gauge exists = gauge(reg, "opsmv_mv_exists", "1 when the materialized view exists", "schema", "mv");
        Gauge populated = gauge(reg, "opsmv_mv_populated", "1 when the materialized view is populated (readable)", "schema", "mv");
        Gauge lastOk = gauge(reg, "opsmv_mv_last_ok_refresh_timestamp_seconds",
                "Unix time when the last OK refresh finished (ops.mv_refresh_log)", "schema", "mv");
        Gauge age = gauge(reg, "opsmv_mv_age_seconds",
                "Seconds since the last OK refresh finished, plus the replay lag on a standby (the age of what this server serves)",
                "schema", "mv");
        Gauge rows = gauge(reg, "opsmv_mv_rows", "Rows in the MV after its last OK refresh", "schema", "mv");
        Gauge duration = gauge(reg, "opsmv_mv_last_refresh_duration_seconds", "Duration of the last OK refresh", "schema", "mv");
        Gauge warnAfter = gauge(reg, "opsmv_mv_warn_after_seconds", "Age at which the MV is WARN (ops.mv_refresh_policy)", "schema", "mv");
        Gauge critAfter = gauge(reg, "opsmv_mv_crit_after_seconds", "Age above which the MV is CRIT (ops.mv_refresh_policy)", "schema", "mv");
        Gauge running = gauge(reg, "opsmv_mv_refresh_running", "1 while a RUNNING row exists in the refresh log", "schema", "mv");
        Gauge stuck = gauge(reg, "opsmv_mv_refresh_stuck", "1 when a RUNNING refresh is older than stuck_after_minutes", "schema", "mv");
        Gauge stale = gauge(reg, "opsmv_mv_stale_upstream", "Upstream MVs refreshed OK after this MV's last OK refresh", "schema", "mv");
        Gauge failed = gauge(reg, "opsmv_mv_last_refresh_failed", "1 when the latest refresh of the MV ended in ERROR", "schema", "mv");

        for (MvHealth m : report.mvs()) {
            String s = m.schema();
            String n = m.name();
            for (String l : LEVELS) {
                status.labelValues(s, n, l).set(m.status().name().equals(l) ? 1 : 0);
            }
            for (String b : BUCKETS) {
                bucket.labelValues(s, n, b).set(b.equals(m.bucket()) ? 1 : 0);
            }
            critical.labelValues(s, n).set(m.critical() ? 1 : 0);
            exists.labelValues(s, n).set(m.exists() ? 1 : 0);
            populated.labelValues(s, n).set(m.populated() ? 1 : 0);
            if (m.lastOkRefreshFinishedAt() != null) {
                lastOk.labelValues(s, n).set(m.lastOkRefreshFinishedAt().toInstant().toEpochMilli() / 1000.0);
            }
            if (m.freshnessSeconds() != null) {
                age.labelValues(s, n).set(m.freshnessSeconds());
            }
            if (m.rowsAfterLastOkRefresh() != null) {
                rows.labelValues(s, n).set(m.rowsAfterLastOkRefresh());
            }
            if (m.lastOkDurationMs() != null) {
                duration.labelValues(s, n).set(m.lastOkDurationMs() / 1000.0);
            }
            warnAfter.labelValues(s, n).set(m.warnAfterHours().doubleValue() * 3600);
            critAfter.labelValues(s, n).set(m.critAfterHours().doubleValue() * 3600);
            running.labelValues(s, n).set(m.running() != null ? 1 : 0);
            stuck.labelValues(s, n).set(m.running() != null && m.running().stuck() ? 1 : 0);
            stale.labelValues(s, n).set(m.staleUpstream().size());
            failed.labelValues(s, n).set("ERROR".equals(m.lastStatus()) ? 1 : 0);
        }
        return reg;
    }

    /** Only {@code opsmv_health_up 0}: the check could not run (the exit code says UNKNOWN). */
    public static PrometheusRegistry unknown() {
        PrometheusRegistry reg = new PrometheusRegistry();
        gauge(reg, "opsmv_health_up", "1 when the health check could read the database, 0 when it could not").set(0);
        gauge(reg, "opsmv_health_exit_code", "Overall health as a Nagios exit code: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN")
                .set(Level.UNKNOWN.exitCode());
        return reg;
    }

    public static String text(PrometheusRegistry... registries) {
        MetricSnapshots.Builder all = MetricSnapshots.builder();
        for (PrometheusRegistry r : registries) {
            for (MetricSnapshot s : r.scrape()) {
                all.metricSnapshot(s);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, all.build());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static Gauge gauge(PrometheusRegistry reg, String name, String help, String... labels) {
        Gauge.Builder b = Gauge.builder().name(name).help(help);
        if (labels.length > 0) {
            b.labelNames(labels);
        }
        return b.register(reg);
    }
}
