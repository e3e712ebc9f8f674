package dev.opsmv.health;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.opsmv.db.Replication;
import dev.opsmv.db.MvGraph;

/**
 * Reads the health of every MV of ops.mv_refresh_policy. The freshness bucket comes from
 * ops.v_mv_health (the same numbers the runbooks' SQL shows); this class adds what the view cannot
 * say on its own: a RUNNING refresh older than the policy's stuck_after_minutes, an MV whose last OK
 * refresh is older than the last OK refresh of an MV it reads (stale upstream, from the catalog's
 * dependency graph), and the level each of these means.
 *
 * <p>Levels: bucket OK → OK, WARN → WARN, CRIT → CRIT, NO_REFRESH → WARN (no OK refresh logged: the
 * age is unknown, the data may still be fine); missing or unpopulated MV → CRIT; stuck RUNNING, stale
 * upstream, or a last refresh that ended in ERROR → at least WARN.
 */
public final class HealthCheck {
    private static final String QUERY = """
            SELECT h.schema_name, h.mv_name, h.is_critical, h.warn_after_hours, h.crit_after_hours,
                   h.mv_exists, h.is_populated, h.last_ok_refresh_finished_at, h.hours_since_ok_refresh,
                   extract(epoch FROM (now() - h.last_ok_refresh_finished_at))::float8 AS age_seconds,
                   h.status_bucket, h.last_status, h.last_refresh_started_at, h.last_error,
                   h.rows_after_refresh, h.last_ok_duration_ms,
                   p.stuck_after_minutes,
                   r.refresh_started_at AS running_since, r.backend_pid AS running_pid,
                   (extract(epoch FROM (now() - r.refresh_started_at)) / 60.0)::float8 AS running_minutes,
                   (now() - r.refresh_started_at > make_interval(mins => p.stuck_after_minutes)) AS running_stuck,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = r.backend_pid) AS running_alive,
                   now() AS checked_at
            FROM ops.v_mv_health h
            JOIN ops.mv_refresh_policy p ON p.schema_name = h.schema_name AND p.mv_name = h.mv_name
            LEFT JOIN LATERAL (
                SELECT l.refresh_started_at, l.backend_pid
                FROM ops.mv_refresh_log l
                WHERE l.schema_name = h.schema_name AND l.mv_name = h.mv_name AND l.status = 'RUNNING'
                ORDER BY l.refresh_started_at, l.refresh_id
                LIMIT 1
            ) r ON true
            WHERE (?::text IS NULL OR h.mv_name = ? OR h.schema_name || '.' || h.mv_name = ?)
            ORDER BY h.schema_name, h.mv_name
            """;

    private HealthCheck() {
    }

    /** Every MV of the policy table. */
    public static HealthReport run(Connection c) throws SQLException {
        return run(c, null);
    }

    /**
     * One MV ({@code mv} as "name" or "schema.name") or every MV ({@code mv} null).
     *
     * @throws UnknownMv when {@code mv} names no MV of the policy table
     */
    public static HealthReport run(Connection c, String mv) throws SQLException {
        Replication.State replication = Replication.read(c);
        // Stale upstream needs the last OK refresh of every MV, also those filtered out by --mv.
        List<Row> all = read(c, null);
        List<Row> selected = mv == null ? all : read(c, mv);
        if (mv != null && selected.isEmpty()) {
            throw new UnknownMv(mv, all.stream().map(r -> r.schema + "." + r.name).toList());
        }
        Map<String, OffsetDateTime> lastOk = new HashMap<>();
        for (Row r : all) {
            if (r.lastOk != null) {
                lastOk.put(r.schema + "." + r.name, r.lastOk);
            }
        }
        MvGraph graph = MvGraph.load(c);
        Set<String> known = Set.copyOf(graph.materializedViews());
        OffsetDateTime checkedAt = selected.isEmpty() ? OffsetDateTime.now() : selected.get(0).checkedAt;
        List<MvHealth> out = new ArrayList<>();
        for (Row r : selected) {
            String qualified = r.schema + "." + r.name;
            List<MvHealth.StaleUpstream> stale = new ArrayList<>();
            if (r.lastOk != null && known.contains(qualified)) {
                for (String up : graph.upstreamOf(qualified)) {
                    OffsetDateTime upOk = lastOk.get(up);
                    if (upOk != null && upOk.isAfter(r.lastOk)) {
                        stale.add(new MvHealth.StaleUpstream(up, upOk));
                    }
                }
            }
            out.add(r.toHealth(stale, replication));
        }
        return new HealthReport(checkedAt, out, replication);
    }

    private static List<Row> read(Connection c, String mv) throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(QUERY)) {
            ps.setString(1, mv);
            ps.setString(2, mv);
            ps.setString(3, mv);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs));
                }
            }
        }
        return rows;
    }

    /** --mv named an MV that is not in ops.mv_refresh_policy. */
    public static final class UnknownMv extends IllegalArgumentException {
        UnknownMv(String mv, List<String> known) {
            super("no MV named '" + mv + "' in ops.mv_refresh_policy; known: " + String.join(", ", known));
        }
    }

    /** One row of the query, before the level is decided. */
    private static final class Row {
        final String schema;
        final String name;
        final boolean critical;
        final BigDecimal warnHours;
        final BigDecimal critHours;
        final boolean exists;
        final boolean populated;
        final OffsetDateTime lastOk;
        final BigDecimal hoursSince;
        final Double ageSeconds;
        final String bucket;
        final String lastStatus;
        final OffsetDateTime lastStarted;
        final String lastError;
        final Long rows;
        final Long durationMs;
        final int stuckAfter;
        final OffsetDateTime runningSince;
        final Integer runningPid;
        final double runningMinutes;
        final boolean runningStuck;
        final boolean runningAlive;
        final OffsetDateTime checkedAt;

        Row(ResultSet rs) throws SQLException {
            schema = rs.getString("schema_name");
            name = rs.getString("mv_name");
            critical = rs.getBoolean("is_critical");
            warnHours = rs.getBigDecimal("warn_after_hours");
            critHours = rs.getBigDecimal("crit_after_hours");
            exists = rs.getBoolean("mv_exists");
            populated = rs.getBoolean("is_populated");
            lastOk = rs.getObject("last_ok_refresh_finished_at", OffsetDateTime.class);
            hoursSince = rs.getBigDecimal("hours_since_ok_refresh");
            ageSeconds = (Double) rs.getObject("age_seconds");
            bucket = rs.getString("status_bucket");
            lastStatus = rs.getString("last_status");
            lastStarted = rs.getObject("last_refresh_started_at", OffsetDateTime.class);
            lastError = rs.getString("last_error");
            rows = (Long) rs.getObject("rows_after_refresh");
            durationMs = (Long) rs.getObject("last_ok_duration_ms");
            stuckAfter = rs.getInt("stuck_after_minutes");
            runningSince = rs.getObject("running_since", OffsetDateTime.class);
            runningPid = (Integer) rs.getObject("running_pid");
            runningMinutes = rs.getDouble("running_minutes");
            runningStuck = rs.getBoolean("running_stuck");
            runningAlive = rs.getBoolean("running_alive");
            checkedAt = rs.getObject("checked_at", OffsetDateTime.class);
        }

        MvHealth toHealth(List<MvHealth.StaleUpstream> stale, Replication.State replication) {
            Level level;
            List<String> reasons = new ArrayList<>();
            switch (bucket) {
                case "OK" -> level = Level.OK;
                case "WARN" -> {
                    level = Level.WARN;
                    reasons.add("last OK refresh " + hoursSince + " h ago (warn after " + plain(warnHours) + " h)");
                }
                case "CRIT" -> {
                    level = Level.CRIT;
                    reasons.add("last OK refresh " + hoursSince + " h ago (critical after " + plain(critHours) + " h)");
                }
                default -> {
                    level = Level.WARN;
                    reasons.add("no OK refresh in ops.mv_refresh_log: age unknown");
                }
            }
            double lag = replication.replayLagSeconds();
            Double freshness = ageSeconds == null ? null : ageSeconds + lag;
            // ops.v_mv_health only knows the log row as replayed; on a standby what is not yet replayed counts too.
            if (freshness != null && lag > 0) {
                String sum = "last OK refresh as replayed " + round1(ageSeconds) + " s ago + replay lag " + round1(lag) + " s = "
                        + round1(freshness) + " s";
                if (critHours != null && freshness > critHours.doubleValue() * 3600 && level != Level.CRIT) {
                    level = Level.CRIT;
                    reasons.add(sum + " (critical after " + plain(critHours) + " h)");
                } else if (warnHours != null && freshness > warnHours.doubleValue() * 3600 && level == Level.OK) {
                    level = Level.WARN;
                    reasons.add(sum + " (warn after " + plain(warnHours) + " h)");
                }
            }
            if (replication.replayPaused()) {
                level = level.worst(Level.WARN);
                reasons.add("WAL replay is paused on this standby (SELECT pg_wal_replay_resume() resumes it): its data stays as of the "
                        + "last replayed transaction, replay lag " + round1(lag) + " s");
            }
            if (!exists) {
                level = Level.CRIT;
                reasons.add("materialized view does not exist");
            } else if (!populated) {
                level = Level.CRIT;
                reasons.add("not populated (REFRESH ... WITH NO DATA or never refreshed): every read fails");
            }
            MvHealth.Running running = null;
            if (runningSince != null) {
                running = new MvHealth.Running(runningSince, runningPid, round1(runningMinutes), stuckAfter, runningStuck, runningAlive);
                if (runningStuck) {
                    level = level.worst(Level.WARN);
                    reasons.add("stuck: RUNNING since " + runningSince + " (" + round1(runningMinutes) + " min > " + stuckAfter
                            + " min, backend pid " + runningPid + (runningAlive ? " still alive" : " gone: abandoned") + ")");
                }
            }
            for (MvHealth.StaleUpstream s : stale) {
                level = level.worst(Level.WARN);
                reasons.add("stale upstream: " + s.mv() + " refreshed OK at " + s.lastOkRefreshFinishedAt()
                        + ", after this MV's last OK refresh at " + lastOk);
            }
            if ("ERROR".equals(lastStatus)) {
                level = level.worst(Level.WARN);
                reasons.add("last refresh failed: " + (lastError == null ? "(no message)" : lastError));
            }
            return new MvHealth(schema, name, critical, level, bucket, exists, populated, warnHours, critHours,
                    lastOk, hoursSince, ageSeconds, durationMs, rows, lastStatus, lastStarted, lastError,
                    running, List.copyOf(stale), List.copyOf(reasons), lag, freshness);
        }

        private static String plain(BigDecimal d) {
            return d == null ? "?" : d.stripTrailingZeros().toPlainString();
        }

        private static double round1(double d) {
            return Math.round(d * 10.0) / 10.0;
        }
    }
}
