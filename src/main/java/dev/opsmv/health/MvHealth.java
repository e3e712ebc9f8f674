package dev.opsmv.health;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.List;

/**
 * The health of one MV of the policy table. {@code bucket} is ops.v_mv_health's freshness bucket
 * (OK / WARN / CRIT / NO_REFRESH by the MV's own thresholds); {@code status} is the level after every
 * other check (missing, unpopulated, stuck RUNNING, stale upstream, last refresh failed), and
 * {@code reasons} says in words why it is not OK.
 *
 * <p>On a standby the log row is the one replayed so far: {@code ageSeconds} is its age there,
 * {@code replayLagSeconds} how far replay is behind (0 on a primary, or on a standby that has replayed
 * all it received), and {@code freshnessSeconds} their sum, the conservative age of what this server
 * serves, which the thresholds are applied to (null when no OK refresh is logged).
 */
public record MvHealth(
        String schema,
        String name,
        boolean critical,
        Level status,
        String bucket,
        boolean exists,
        boolean populated,
        BigDecimal warnAfterHours,
        BigDecimal critAfterHours,
        OffsetDateTime lastOkRefreshFinishedAt,
        BigDecimal hoursSinceOkRefresh,
        Double ageSeconds,
        Long lastOkDurationMs,
        Long rowsAfterLastOkRefresh,
        String lastStatus,
        OffsetDateTime lastRefreshStartedAt,
        String lastError,
        Running running,
        List<StaleUpstream> staleUpstream,
        List<String> reasons,
        double replayLagSeconds,
        Double freshnessSeconds) {

    /** "schema.name", as MvGraph names MVs. */
    public String qualifiedName() {
        return schema + "." + name;
    }

    /** The oldest RUNNING log row of this MV, if any. */
    public record Running(OffsetDateTime since, Integer backendPid, double minutes, int stuckAfterMinutes,
                          boolean stuck, boolean backendAlive) {
    }

    /** An MV this one reads whose last OK refresh finished after this one's last OK refresh. */
    public record StaleUpstream(String mv, OffsetDateTime lastOkRefreshFinishedAt) {
    }
}
