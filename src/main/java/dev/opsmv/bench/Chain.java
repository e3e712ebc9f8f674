package dev.opsmv.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.MvGraph;
import dev.opsmv.refresh.RefreshEngine;
import dev.opsmv.refresh.RefreshMethod;
import dev.opsmv.refresh.RefreshMode;
import dev.opsmv.refresh.RefreshPlan;
import dev.opsmv.swap.SideBySideSwap;

/** The seven MVs in refresh order, each with its name parts and whether it can be swapped. */
record Chain(List<Mv> mvs) {
    /** {@code qualified} as MvGraph spells it; {@code swappable}: nothing else reads it (and we own it). */
    record Mv(String qualified, String schema, String name, boolean swappable) {
    }

    /** The swap lock timeout the benchmark uses: refresh's default. */
    static final Duration SWAP_LOCK_TIMEOUT = RefreshEngine.DEFAULT_SWAP_LOCK_TIMEOUT;

    static Chain load(Connection c) throws SQLException {
        MvGraph graph = MvGraph.load(c);
        List<Mv> out = new ArrayList<>();
        for (String mv : graph.refreshOrder(graph.materializedViews())) {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?::regclass")) {
                ps.setString(1, mv);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out.add(new Mv(mv, rs.getString(1), rs.getString(2), SideBySideSwap.obstacles(c, rs.getString(1), rs.getString(2)).isEmpty()));
                }
            }
        }
        return new Chain(out);
    }

    /** One refresh of {@code mv} by {@code method} ("PLAIN", "CONCURRENTLY", "SWAP"), in ms: the bare statement or the swap routine. */
    static double refresh(Connection c, Mv mv, String method) throws Exception {
        return switch (method) {
            case RefreshMethod.SWAP -> swap(c, mv).millis();
            case RefreshMethod.CONCURRENTLY -> Measure.millis(() -> Measure.exec(c, "REFRESH MATERIALIZED VIEW CONCURRENTLY " + mv.qualified()));
            default -> Measure.millis(() -> Measure.exec(c, "REFRESH MATERIALIZED VIEW " + mv.qualified()));
        };
    }

    /** A swap refresh of {@code mv}: its wall time, and what the routine says about it. */
    record Swap(double millis, SideBySideSwap.Swapped swapped) {
    }

    static Swap swap(Connection c, Mv mv) throws Exception {
        long t0 = System.nanoTime();
        // as `refresh --method swap` runs it: the indexes on this session and a second one
        SideBySideSwap.Swapped s = new SideBySideSwap(c, SWAP_LOCK_TIMEOUT, () -> secondSession(c)).refresh(mv.schema(), mv.name(), null);
        return new Swap((System.nanoTime() - t0) / 1e6, s);
    }

    /** Another session to {@code c}'s database as its user (the benchmark's embedded server needs no password). */
    static Connection secondSession(Connection c) throws SQLException {
        java.util.Properties props = new java.util.Properties();
        props.setProperty("user", c.getMetaData().getUserName());
        props.setProperty("ApplicationName", "opsmv-bench-index");
        return java.sql.DriverManager.getConnection(c.getMetaData().getURL(), props);
    }

    /** The MV at the top of the bundle's chain: every other MV and the plain view read it, directly or not. */
    static final String CHAIN_ROOT = "mv_yango_payments_raw_current";
    static final String ROOT_QUALIFIED = "ops." + CHAIN_ROOT;

    /** A chain swap: its wall time, and what the routine says about it. */
    record ChainRun(double millis, SideBySideSwap.ChainSwapped swapped) {
    }

    /**
     * The raw MV swapped with its whole downstream subgraph, as {@code refresh --all} (auto) does it from 4 MB of
     * MVs together: every MV and the view rebuilt side by side, indexes on two sessions, one swap transaction.
     */
    static ChainRun chainSwap(Connection c) throws Exception {
        long t0 = System.nanoTime();
        SideBySideSwap.ChainSwapped s = new SideBySideSwap(c, SWAP_LOCK_TIMEOUT, () -> secondSession(c))
                // nothing to commit with it (refresh --all logs its OK rows there); refreshChain does not take null for that
                .refreshChain("ops", CHAIN_ROOT, (tx, rows) -> { });
        return new ChainRun((System.nanoTime() - t0) / 1e6, s);
    }

    /** What {@code refresh --all} (auto) plans now: which MVs go by a chain swap, and the method of the others. */
    static RefreshPlan allPlan(Connection c) throws SQLException {
        return RefreshPlan.build(c, List.of(), true, false, RefreshMode.AUTO);
    }

    /** What {@code refresh <mv>} alone (auto) would do with this MV now. */
    static String auto(Connection c, Mv mv) throws SQLException {
        return RefreshMethod.decide(c, mv.qualified(), RefreshMode.AUTO).method();
    }
}
