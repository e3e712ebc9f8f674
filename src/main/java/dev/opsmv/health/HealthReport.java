package dev.opsmv.health;

import java.time.OffsetDateTime;
import java.util.List;

/**
 * One health check: every MV checked and the overall level: the worst row, or UNKNOWN when the policy
 * table lists no MV at all (nothing was checked, so nothing can be called OK).
 */
public record HealthReport(OffsetDateTime checkedAt, List<MvHealth> mvs) {
    public Level overall() {
        if (mvs.isEmpty()) {
            return Level.UNKNOWN;
        }
        Level worst = Level.OK;
        for (MvHealth mv : mvs) {
            worst = worst.worst(mv.status());
        }
        return worst;
    }
}
