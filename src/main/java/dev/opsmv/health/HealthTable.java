package dev.opsmv.health;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** The human-readable table of `health` (the default format): one line per MV, then its reasons. */
public final class HealthTable {
    private HealthTable() {
    }

    public static void print(HealthReport report, PrintWriter out) {
        String[] head = {"MV", "STATUS", "BUCKET", "LAST OK REFRESH (UTC)", "HOURS", "ROWS", "POPULATED", "LAST", "CRITICAL"};
        List<String[]> lines = new ArrayList<>();
        lines.add(head);
        for (MvHealth m : report.mvs()) {
            lines.add(new String[] {
                    m.qualifiedName(), m.status().name(), m.bucket(),
                    m.lastOkRefreshFinishedAt() == null ? "-" : HealthJson.time(m.lastOkRefreshFinishedAt()),
                    m.hoursSinceOkRefresh() == null ? "-" : m.hoursSinceOkRefresh().toPlainString(),
                    m.rowsAfterLastOkRefresh() == null ? "-" : m.rowsAfterLastOkRefresh().toString(),
                    !m.exists() ? "missing" : m.populated() ? "yes" : "NO",
                    m.lastStatus() == null ? "-" : m.lastStatus(),
                    m.critical() ? "yes" : "no"});
        }
        int[] width = new int[head.length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                width[i] = Math.max(width[i], l[i].length());
            }
        }
        for (String[] l : lines) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < l.length; i++) {
                sb.append(i == 0 ? "" : "  ").append(String.format("%-" + width[i] + "s", l[i]));
            }
            out.println(sb.toString().stripTrailing());
        }
        for (MvHealth m : report.mvs()) {
            for (String r : m.reasons()) {
                out.println("  " + m.status().name() + " " + m.qualifiedName() + ": " + r);
            }
        }
        List<String> capped = report.critCountedAsWarn();
        if (!capped.isEmpty()) {
            out.println("  CRIT of " + String.join(", ", capped) + " counts as WARN overall (is_critical = false in ops.mv_refresh_policy)");
        }
        if (report.replication().inRecovery()) {
            out.println("  standby: the refresh log as replayed; replay lag " + report.replication().replayLagSeconds() + " s"
                    + (report.replication().replayPaused() ? ", replay PAUSED" : "") + " (counted in each MV's age)");
        }
        out.println("overall: " + report.overall().name() + " (exit " + report.overall().exitCode() + ")");
        out.flush();
    }
}
