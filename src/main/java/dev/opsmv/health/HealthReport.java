package dev.opsmv.health;

import java.time.OffsetDateTime;
import java.util.List;

/** One health check: every MV checked and the overall level (the worst row; OK when there is none). */
public record HealthReport(OffsetDateTime checkedAt, List<MvHealth> mvs) {
    public Level overall() {
        Level worst = Level.OK;
        for (MvHealth mv : mvs) {
            worst = worst.worst(mv.status());
        }
        return worst;
    }
}
