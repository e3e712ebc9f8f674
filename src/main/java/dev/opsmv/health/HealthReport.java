package dev.opsmv.health;

import java.time.OffsetDateTime;
import java.util.List;

import dev.opsmv.db.Replication;

/**
 * One health check: every MV checked and the overall level: the worst row as it counts (see
 * {@link #counted}), or UNKNOWN when the policy table lists no MV at all (nothing was checked, so
 * nothing can be called OK).
 */
public record HealthReport(OffsetDateTime checkedAt, List<MvHealth> mvs, Replication.State replication) {
    /** A report read on a primary. */
    public HealthReport(OffsetDateTime checkedAt, List<MvHealth> mvs) {
        this(checkedAt, mvs, Replication.State.PRIMARY);
    }

    public Level overall() {
        if (mvs.isEmpty()) {
            return Level.UNKNOWN;
        }
        Level worst = Level.OK;
        for (MvHealth mv : mvs) {
            worst = worst.worst(counted(mv));
        }
        return worst;
    }

    /**
     * What one row weighs in the overall level. {@code is_critical} in ops.mv_refresh_policy is what
     * separates "page someone" from "look at it today": a critical MV's CRIT makes the whole check CRIT
     * (exit 2), a non-critical MV's CRIT stays CRIT in its own row but counts as WARN overall (exit 1).
     */
    public static Level counted(MvHealth mv) {
        return mv.status() == Level.CRIT && !mv.critical() ? Level.WARN : mv.status();
    }

    /** The non-critical MVs whose CRIT counts as WARN in the overall level ("schema.mv"). */
    public List<String> critCountedAsWarn() {
        return mvs.stream().filter(m -> m.status() == Level.CRIT && !m.critical()).map(MvHealth::qualifiedName).toList();
    }
}
