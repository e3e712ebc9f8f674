package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Timing;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.refresh.RefreshMethod;

/**
 * Section 5: four readers of the driver-matrix MV while it is refreshed CONCURRENTLY, plain, and by
 * SWAP, and for the same time with no refresh at all: on a shared machine that baseline is the
 * latency the readers would see anyway.
 */
final class ReadersDuringRefresh {
    static final int READERS = 4;
    static final String BASELINE = "none (baseline, 5 s)";

    /** One read: when it started and ended (System.nanoTime). */
    private record Read(long start, long end) {
        double millis() {
            return (end - start) / 1e6;
        }
    }

    private final Report report;
    private final PrintWriter log;

    ReadersDuringRefresh(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(ConnectionSpec db) throws Exception {
        log.println("== readers during no refresh, CONCURRENTLY, plain and SWAP");
        report.section("5. Readers of the driver-matrix MV during its refresh (" + READERS + " reader threads, typical filtered query, back to back)",
                "| refresh | refresh ms | reader queries | reader errors | reader worst ms | reader p99 ms | note |",
                "|---|---:|---:|---:|---:|---:|---|");
        String readerSql = TypicalQueries.filtered(SourceFixture.Spec.currentWeek()).sql(TypicalQueries.MV);
        List<Object[]> verdicts = new ArrayList<>();
        for (String method : List.of(BASELINE, RefreshMethod.CONCURRENTLY, RefreshMethod.PLAIN, RefreshMethod.SWAP)) {
            ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();
            AtomicInteger errors = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean measuring = new AtomicBoolean();
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                Thread t = new Thread(() -> {
                    try (Connection rc = db.open("opsmv-bench-reader"); Statement st = rc.createStatement()) {
                        while (!stop.get()) {
                            long t0 = System.nanoTime();
                            try (ResultSet rs = st.executeQuery(readerSql)) {
                                while (rs.next()) {
                                    // drain
                                }
                            } catch (SQLException e) {
                                errors.incrementAndGet();
                            }
                            if (measuring.get()) {
                                reads.add(new Read(t0, System.nanoTime()));
                            }
                        }
                    } catch (SQLException e) {
                        errors.incrementAndGet();
                    }
                });
                t.start();
                readers.add(t);
            }
            Thread.sleep(500);
            double refreshMs = 0;
            String note = "";
            try (Connection c = db.open("opsmv-bench-refresher")) {
                measuring.set(true);
                if (method.equals(BASELINE)) {
                    Thread.sleep(5000);
                } else if (method.equals(RefreshMethod.SWAP)) {
                    Chain.Swap s = Chain.swap(c, new Chain.Mv(TypicalQueries.MV, "ops", "mv_payments_driver_matrix_cabinet", true));
                    long end = System.nanoTime();
                    refreshMs = s.millis();
                    // the reads that overlapped the swap transaction (wait, renames, commit), the only time readers could queue behind it
                    long from = end - (s.swapped().lockWaitMillis() + s.swapped().lockHeldMillis() + 5) * 1_000_000L;
                    double worstInSwap = reads.stream().filter(r -> r.end() > from && r.start() < end).mapToDouble(Read::millis).max().orElse(0);
                    note = "swap transaction: waited " + s.swapped().lockWaitMillis() + " ms for its lock, held it "
                            + s.swapped().lockHeldMillis() + " ms; worst read overlapping it " + Measure.f(worstInSwap) + " ms; "
                            + Measure.steps(s.swapped().steps());
                } else {
                    refreshMs = Timing.once(c, "REFRESH MATERIALIZED VIEW " + (method.equals(RefreshMethod.CONCURRENTLY) ? "CONCURRENTLY " : "")
                            + TypicalQueries.MV);
                }
                Thread.sleep(200);
                measuring.set(false);
            }
            stop.set(true);
            for (Thread t : readers) {
                t.join();
            }
            Stats s = Stats.of(reads.stream().mapToDouble(Read::millis).toArray());
            report.row(method.equals(RefreshMethod.PLAIN) ? "plain" : method, method.equals(BASELINE) ? "—" : Measure.f(refreshMs),
                    Integer.toString(s.n()), Integer.toString(errors.get()), Measure.f(s.max()), Measure.f(s.p99()), note);
            String why = s.n() + " reads, " + errors.get() + " errors during a " + Measure.f(refreshMs) + " ms refresh"
                    + (note.isEmpty() ? "" : "; " + note.substring(0, note.indexOf(';', note.indexOf("overlapping"))));
            if (method.equals(RefreshMethod.CONCURRENTLY)) {
                verdicts.add(new Object[] {Target.READERS_CONCURRENTLY, s.max(), errors.get() == 0, why});
            } else if (method.equals(RefreshMethod.SWAP)) {
                verdicts.add(new Object[] {Target.READERS_SWAP, s.max(), errors.get() == 0, why});
            }
        }
        report.line("");
        for (Object[] v : verdicts) {
            report.target((Target) v[0], (double) v[1], (boolean) v[2], (String) v[3]);
            report.targetLine((Target) v[0], (double) v[1], (boolean) v[2], null);
        }
        report.line("A plain refresh holds ACCESS EXCLUSIVE for its whole duration: readers queue behind it. CONCURRENTLY takes EXCLUSIVE, "
                + "which readers pass. A swap builds beside the serving MV and takes ACCESS EXCLUSIVE only for its swap transaction; "
                + "readers queue behind that (or, when a query keeps the old MV past the lock timeout, at most the lock timeout per attempt). "
                + "The baseline row is the same readers with no refresh: on a shared machine, what they would see anyway.");
    }
}
