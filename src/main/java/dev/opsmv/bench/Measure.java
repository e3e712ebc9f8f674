package dev.opsmv.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.opsmv.db.Timing;

/** The measuring and formatting helpers the scenarios share. */
final class Measure {
    private Measure() {
    }

    /** A piece of work timed as a whole (a swap, a statement list). */
    interface Work {
        void run() throws Exception;
    }

    /** {@code runs} timed executions after two warm-up runs. */
    static Stats time(Connection c, String sql, int runs) throws SQLException {
        return Stats.of(Timing.runs(c, sql, 2, runs));
    }

    static double millis(Work work) throws Exception {
        long t0 = System.nanoTime();
        work.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static List<String> strings(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    static String f(double ms) {
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f", ms) : String.format(Locale.ROOT, "%.2f", ms);
    }

    static String ratio(double a, double b) {
        return String.format(Locale.ROOT, "%.2fx", a / b);
    }

    /** A swap's steps, "populate 1109, indexes 718, …" (ms). */
    static String steps(java.util.Map<String, Long> steps) {
        return String.join(", ", steps.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()) + " (ms)";
    }

    static String pct(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }
}
