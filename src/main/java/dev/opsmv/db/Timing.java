package dev.opsmv.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Wall-clock timing of SQL statements, the one helper the benchmark, the demo and verify share:
 * each run reads every row, as the endpoint does, so a query is not timed without its transfer.
 */
public final class Timing {
    private Timing() {
    }

    /** One execution of {@code sql}, in milliseconds. */
    public static double once(Connection c, String sql) throws SQLException {
        long t0 = System.nanoTime();
        try (Statement st = c.createStatement()) {
            if (st.execute(sql)) {
                try (ResultSet rs = st.getResultSet()) {
                    while (rs.next()) {
                        // drain: the client reads every row, as the endpoint does
                    }
                }
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    /** {@code runs} timed executions (ms) after {@code warmUps} untimed ones (caches, plans). */
    public static double[] runs(Connection c, String sql, int warmUps, int runs) throws SQLException {
        for (int i = 0; i < warmUps; i++) {
            once(c, sql);
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            ms[i] = once(c, sql);
        }
        return ms;
    }
}
