package dev.opsmv.bench;

import java.util.Locale;

/**
 * The benchmark's targets, each defined once: what is promised, the limit, and the unit. The report
 * lists them at the top with what this run measured, and repeats the one of a section under it.
 */
enum Target {
    MV_SPEEDUP("MV ≥ 100x faster than the plain view, typical filtered query (in the database)", 100, true, "x"),
    PLAIN_CHAIN("plain refresh of the chain ≤ 1.25x the bare CREATE TABLE AS", 1.25, false, "x"),
    SWAP_MATRIX("SWAP of the driver matrix ≤ 1.2x its CREATE TABLE AS plus indexes", 1.2, false, "x"),
    CHAIN_SWAP("the chain refreshed with readers unblocked (`refresh --all`'s chain swap) ≤ 1.25x its CREATE TABLE AS plus indexes", 1.25, false, "x"),
    ENDPOINT_P95("endpoint p95 ≤ 20 ms at 8 clients", 20, false, " ms"),
    ENDPOINT_VS_FLOOR("endpoint ≥ 30% of the JDBC floor's throughput at 8 clients (filtered request)", 30, true, "%"),
    ENDPOINT_P99_8("endpoint p99 ≤ 10 ms at 8 clients (filtered request)", 10, false, " ms"),
    ENDPOINT_P50_1("endpoint p50 ≤ 0.5 ms at 1 client (filtered request)", 0.5, false, " ms"),
    CACHED_VS_FLOOR("the cached filtered request ≥ 3x the JDBC floor's rate at 8 clients", 3, true, "x"),
    KEYSET_DEEP_PAGE("a keyset page 200 within 1.5x of page 1 (median, 1 client)", 1.5, false, "x"),
    READERS_CONCURRENTLY("readers during CONCURRENTLY: worst latency ≤ 50 ms, no error", 50, false, " ms"),
    READERS_SWAP("readers during SWAP: worst latency ≤ 50 ms, no error", 50, false, " ms"),
    READERS_CHAIN_SWAP("readers during a chain swap (the driver matrix and ops.mv_yango_payments_ledger_latest): worst latency ≤ 50 ms, no error",
            50, false, " ms"),
    WRITER_STALL("writer's longest stall during `update` ≤ the lock timeout (5 s)", 5000, false, " ms");

    final String promise;
    final double limit;
    final boolean atLeast;
    final String unit;

    Target(String promise, double limit, boolean atLeast, String unit) {
        this.promise = promise;
        this.limit = limit;
        this.atLeast = atLeast;
        this.unit = unit;
    }

    boolean met(double measured) {
        return atLeast ? measured >= limit : measured <= limit;
    }

    String shown(double measured) {
        if (unit.equals("x")) {
            return measured >= 10 ? String.format(Locale.ROOT, "%.0fx", measured) : String.format(Locale.ROOT, "%.2fx", measured);
        }
        if (unit.equals("%")) {
            return String.format(Locale.ROOT, "%.0f%%", measured);
        }
        return Measure.f(measured) + unit;
    }
}
