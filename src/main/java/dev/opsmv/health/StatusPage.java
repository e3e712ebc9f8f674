package dev.opsmv.health;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One self-contained HTML page of the MVs' health for people: per MV its freshness against its thresholds (in
 * colour), the last refresh's method, duration and rows, and an SVG chart of every refresh of the last 7 days from
 * the log (one mark per refresh, its duration; a failure in the failure colour). No script, no stylesheet or font
 * from anywhere: it works offline, in an incident ticket ({@code opsmv report --html}) as at {@code /status}.
 */
public final class StatusPage {
    /** The failure colour of the chart and the CRIT cells (a test reads it from the rendered page). */
    public static final String FAILURE_COLOUR = "#c62828";
    public static final String OK_COLOUR = "#2e7d32";
    public static final String WARN_COLOUR = "#ef6c00";
    static final Duration WINDOW = Duration.ofDays(7);
    /** Marks drawn at most: a refresh every minute for a week would be 10,080 per MV. */
    static final int MAX_MARKS = 20_000;
    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT);

    /** One row of the log in the window. */
    record Refresh(String mv, OffsetDateTime startedAt, long durationMs, String status, String method) {
    }

    private StatusPage() {
    }

    /** The page for {@code report}, read on {@code c} now; {@code where} names the database (no password). */
    public static String render(Connection c, String where) throws SQLException {
        HealthReport report = HealthCheck.run(c);
        return render(report, refreshes(c), where);
    }

    static List<Refresh> refreshes(Connection c) throws SQLException {
        List<Refresh> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT schema_name || '.' || mv_name, refresh_started_at, coalesce(duration_ms, 0), status, coalesce(method, '') "
                        + "FROM ops.mv_refresh_log WHERE refresh_started_at > now() - interval '" + WINDOW.toDays() + " days' "
                        + "AND status <> 'RUNNING' ORDER BY refresh_started_at DESC LIMIT " + MAX_MARKS)) {
            while (rs.next()) {
                out.add(new Refresh(rs.getString(1), rs.getObject(2, OffsetDateTime.class), rs.getLong(3), rs.getString(4), rs.getString(5)));
            }
        }
        return out;
    }

    static String render(HealthReport report, List<Refresh> refreshes, String where) {
        StringBuilder h = new StringBuilder(16_384 + refreshes.size() * 160);
        // an empty icon inline: otherwise every browser asks for /favicon.ico (a 404, a console error, a request offline)
        h.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>opsmv status: ")
                .append(esc(report.overall().name())).append("</title>\n<style>")
                .append("body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}")
                .append(".OK{background:").append(OK_COLOUR).append(";color:#fff}.WARN{background:").append(WARN_COLOUR)
                .append(";color:#fff}.CRIT,.UNKNOWN{background:").append(FAILURE_COLOUR).append(";color:#fff}")
                .append("svg{border:1px solid #ccc;background:#fff}.axis{stroke:#999}.legend{font-size:12px}</style></head><body>\n");
        h.append("<h1>opsmv status: <span class=\"").append(report.overall().name()).append("\">").append(report.overall().name())
                .append("</span></h1>\n<p>").append(esc(where)).append(", read ")
                .append(SHOWN.format(report.checkedAt().withOffsetSameInstant(ZoneOffset.UTC)));
        if (report.replication() != null && report.replication().inRecovery()) {
            h.append("; a standby, replay ").append(report.replication().replayPaused() ? "paused, " : "")
                    .append(String.format(Locale.ROOT, "%.1f s behind", report.replication().replayLagSeconds()));
        }
        h.append("</p>\n<table id=\"mvs\"><tr><th>materialized view</th><th>level</th><th>age</th><th>WARN after</th><th>CRIT after</th>"
                + "<th>last refresh</th><th>method</th><th>duration</th><th>rows</th><th>why</th></tr>\n");
        for (MvHealth mv : report.mvs()) {
            String last = mv.lastStatus() == null ? "never" : mv.lastStatus();
            String method = refreshes.stream().filter(r -> r.mv().equals(mv.qualifiedName())).map(Refresh::method).findFirst().orElse("");
            h.append("<tr data-mv=\"").append(esc(mv.qualifiedName())).append("\"><td>").append(esc(mv.qualifiedName()))
                    .append(mv.critical() ? " (critical)" : "").append("</td><td class=\"").append(mv.status().name()).append("\">")
                    .append(mv.status().name()).append("</td><td>").append(age(mv.ageSeconds())).append("</td><td>")
                    .append(hours(mv.warnAfterHours())).append("</td><td>").append(hours(mv.critAfterHours())).append("</td><td>")
                    .append(esc(last)).append(mv.lastRefreshStartedAt() == null ? "" : " " + SHOWN.format(mv.lastRefreshStartedAt()
                            .withOffsetSameInstant(ZoneOffset.UTC))).append("</td><td>").append(esc(method)).append("</td><td>")
                    .append(mv.lastOkDurationMs() == null ? "" : String.format(Locale.ROOT, "%.1f s", mv.lastOkDurationMs() / 1000.0))
                    .append("</td><td>").append(mv.rowsAfterLastOkRefresh() == null ? "" : String.format(Locale.ROOT, "%,d", mv.rowsAfterLastOkRefresh()))
                    .append("</td><td>").append(esc(String.join("; ", mv.reasons()))).append("</td></tr>\n");
        }
        h.append("</table>\n<h2>Refreshes of the last 7 days</h2>\n");
        chart(h, refreshes, report.checkedAt());
        h.append("</body></html>\n");
        return h.toString();
    }

    /** Time across, duration up (square root, so a 2-minute chain and a 1-second MV both show), one mark per refresh. */
    private static void chart(StringBuilder h, List<Refresh> refreshes, OffsetDateTime now) {
        int w = 960;
        int ht = 320;
        int left = 60;
        int bottom = 30;
        long end = now.toInstant().toEpochMilli();
        long start = end - WINDOW.toMillis();
        double maxDuration = Math.max(1000, refreshes.stream().mapToLong(Refresh::durationMs).max().orElse(1000));
        h.append("<svg id=\"refresh-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(ht)
                .append("\" role=\"img\" aria-label=\"refresh durations and outcomes, last 7 days\">\n")
                .append("<line class=\"axis\" x1=\"").append(left).append("\" y1=\"").append(ht - bottom).append("\" x2=\"").append(w - 10)
                .append("\" y2=\"").append(ht - bottom).append("\"/><line class=\"axis\" x1=\"").append(left).append("\" y1=\"10\" x2=\"")
                .append(left).append("\" y2=\"").append(ht - bottom).append("\"/>\n")
                .append("<text x=\"4\" y=\"20\" class=\"legend\">").append(String.format(Locale.ROOT, "%.0f s", maxDuration / 1000)).append("</text>")
                .append("<text x=\"4\" y=\"").append(ht - bottom).append("\" class=\"legend\">0 s</text>")
                .append("<text x=\"").append(left).append("\" y=\"").append(ht - 8).append("\" class=\"legend\">7 days ago</text>")
                .append("<text x=\"").append(w - 60).append("\" y=\"").append(ht - 8).append("\" class=\"legend\">now</text>\n");
        for (Refresh r : refreshes) {
            long t = r.startedAt().toInstant().toEpochMilli();
            double x = left + (w - 10 - left) * (double) (t - start) / (end - start);
            double y = (ht - bottom) - (ht - bottom - 10) * Math.sqrt(r.durationMs() / maxDuration);
            boolean failed = !"OK".equals(r.status());
            h.append("<circle class=\"mark ").append(failed ? "failed" : "ok").append("\" cx=\"").append(String.format(Locale.ROOT, "%.1f", x))
                    .append("\" cy=\"").append(String.format(Locale.ROOT, "%.1f", y)).append("\" r=\"3\" fill=\"")
                    .append(failed ? FAILURE_COLOUR : OK_COLOUR).append("\"><title>").append(esc(r.mv())).append(' ').append(esc(r.status()))
                    .append(' ').append(esc(r.method())).append(' ').append(r.durationMs()).append(" ms ")
                    .append(SHOWN.format(r.startedAt().withOffsetSameInstant(ZoneOffset.UTC))).append("</title></circle>\n");
        }
        h.append("</svg>\n<p class=\"legend\">").append(refreshes.size()).append(" refresh(es) logged in the window; <span style=\"color:")
                .append(OK_COLOUR).append("\">●</span> OK, <span style=\"color:").append(FAILURE_COLOUR)
                .append("\">●</span> ERROR, BUSY, SKIPPED or ABANDONED. A refresh still RUNNING is not drawn.</p>\n");
    }

    private static String age(Double seconds) {
        if (seconds == null) {
            return "never refreshed";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%.1f h", s / 3600.0) : s >= 60 ? (s / 60) + " min" : s + " s";
    }

    private static String hours(java.math.BigDecimal h) {
        return h == null ? "" : h.stripTrailingZeros().toPlainString() + " h";
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
