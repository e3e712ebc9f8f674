package dev.opsmv.bench;

import java.util.Arrays;

/** Order statistics of a set of timings, in milliseconds. */
public record Stats(int n, double median, double p95, double p99, double max) {
    public static Stats of(double[] millis) {
        double[] s = millis.clone();
        Arrays.sort(s);
        return new Stats(s.length, pct(s, 50), pct(s, 95), pct(s, 99), s.length == 0 ? 0 : s[s.length - 1]);
    }

    /** Nearest-rank percentile. */
    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
