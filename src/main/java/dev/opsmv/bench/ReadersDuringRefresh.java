package dev.opsmv.bench;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Timing;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.refresh.RefreshMethod;

/**
 * Section 5: four readers of the driver-matrix MV while it is refreshed CONCURRENTLY, plain, and by
 * SWAP, and for the same time with no refresh at all: on a shared machine that baseline is the
 * latency the readers would see anyway; then readers of the driver matrix and of the ledger MV in the
 * middle of the chain while the whole chain is swapped (what {@code refresh --all} does at this size).
 */
final class ReadersDuringRefresh {
    static final int READERS = 4;
    static final String BASELINE = "none";
    static final String CHAIN = "chain swap";
    /** An MV in the middle of the chain, read during the chain swap beside the driver matrix. */
    static final String LEDGER = "ops.mv_yango_payments_ledger_latest";

    /** One read: when it started and ended (System.nanoTime). */
    private record Read(long start, long end, boolean ledger) {
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

    void run(ConnectionSpec db, Bench.Options options) throws Exception {
        long baseline = options.upToALine(5000);
        log.println("== readers during no refresh, CONCURRENTLY, plain, SWAP and a chain swap");
        report.section("5. Readers of the driver-matrix MV during its refresh (" + READERS + " reader threads, typical filtered query, back to back; "
                        + "during the chain swap half of them read " + LEDGER + " instead)",
                "| refresh | refresh ms | reader queries | reader errors | reader worst ms | reader p99 ms | readers' CPU (their JVM threads) "
                        + "| machine busy | note |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|");
        String readerSql = TypicalQueries.filtered(SourceFixture.Spec.currentWeek()).sql(TypicalQueries.MV);
        List<String> ledgerSql = new ArrayList<>();
        try (Connection c = db.open("opsmv-bench-refresher")) {
            // point look-ups of the ledger MV by its grain's first column, as a payments screen would do them
            for (String driver : Measure.strings(c, "SELECT quote_literal(driver_id) FROM " + LEDGER + " GROUP BY driver_id ORDER BY md5(driver_id::text) LIMIT 200")) {
                ledgerSql.add("SELECT driver_id, milestone_value, paid_amount, last_paid_date, payment_count FROM " + LEDGER + " WHERE driver_id = " + driver);
            }
        }
        if (ledgerSql.isEmpty()) {
            ledgerSql.add("SELECT driver_id, milestone_value, paid_amount, last_paid_date, payment_count FROM " + LEDGER + " LIMIT 1");
        }
        ThreadMXBean threadCpu = ManagementFactory.getThreadMXBean();
        int cores = Runtime.getRuntime().availableProcessors();
        List<Object[]> verdicts = new ArrayList<>();
        for (String method : List.of(BASELINE, RefreshMethod.CONCURRENTLY, RefreshMethod.PLAIN, RefreshMethod.SWAP, CHAIN)) {
            boolean chainLine = method.equals(CHAIN);
            ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();
            AtomicInteger errors = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean measuring = new AtomicBoolean();
            AtomicLong readerCpuNanos = new AtomicLong();
            List<Thread> readers = new ArrayList<>();
            LoadGenerator.CpuClock before = LoadGenerator.CpuClock.now();
            for (int i = 0; i < READERS; i++) {
                // during the chain swap, every other reader reads the ledger MV in the middle of the chain
                boolean ledger = chainLine && i % 2 == 1;
                final int me = i;
                Thread t = new Thread(() -> {
                    long cpu0 = threadCpu.getCurrentThreadCpuTime();
                    int k = me;
                    try (Connection rc = db.open("opsmv-bench-reader"); Statement st = rc.createStatement()) {
                        while (!stop.get()) {
                            String sql = ledger ? ledgerSql.get(k++ % ledgerSql.size()) : readerSql;
                            long t0 = System.nanoTime();
                            try (ResultSet rs = st.executeQuery(sql)) {
                                while (rs.next()) {
                                    // drain
                                }
                            } catch (SQLException e) {
                                errors.incrementAndGet();
                            }
                            if (measuring.get()) {
                                reads.add(new Read(t0, System.nanoTime(), ledger));
                            }
                        }
                    } catch (SQLException e) {
                        errors.incrementAndGet();
                    }
                    readerCpuNanos.addAndGet(threadCpu.getCurrentThreadCpuTime() - cpu0);
                });
                t.start();
                readers.add(t);
            }
            Thread.sleep(500);
            double refreshMs = 0;
            String note = "";
            long swapFrom = 0;
            long swapEnd = 0;
            try (Connection c = db.open("opsmv-bench-refresher")) {
                measuring.set(true);
                if (method.equals(BASELINE)) {
                    Thread.sleep(baseline);
                } else if (method.equals(RefreshMethod.SWAP)) {
                    Chain.Swap s = Chain.swap(c, new Chain.Mv(TypicalQueries.MV, "ops", "mv_payments_driver_matrix_cabinet", true));
                    swapEnd = System.nanoTime();
                    refreshMs = s.millis();
                    // the swap transaction (wait, renames, commit): the only time readers could queue behind it
                    swapFrom = swapEnd - (s.swapped().lockWaitMillis() + s.swapped().lockHeldMillis() + 5) * 1_000_000L;
                    note = "swap transaction: waited " + s.swapped().lockWaitMillis() + " ms for its lock, held it "
                            + s.swapped().lockHeldMillis() + " ms; worst read overlapping it %s ms; " + Measure.steps(s.swapped().steps());
                } else if (chainLine) {
                    Chain.ChainRun s = Chain.chainSwap(c);
                    swapEnd = System.nanoTime();
                    refreshMs = s.millis();
                    swapFrom = swapEnd - (s.swapped().lockWaitMillis() + s.swapped().lockHeldMillis() + 5) * 1_000_000L;
                    note = "swap transaction: waited " + s.swapped().lockWaitMillis() + " ms for its locks, held them "
                            + s.swapped().lockHeldMillis() + " ms; worst read overlapping it %s ms; "
                            + s.swapped().members().size() + " relations rebuilt (build " + s.swapped().buildMillis() + " ms); %s";
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
            LoadGenerator.CpuClock after = LoadGenerator.CpuClock.now();
            double wall = (after.wallNanos() - before.wallNanos()) / 1e9;
            double readerCpu = readerCpuNanos.get() / 1e9 / (wall * cores);
            Stats s = Stats.of(reads.stream().mapToDouble(Read::millis).toArray());
            if (swapEnd != 0) {
                // counted once every reader has stopped: a read queued behind the swap transaction ends after it
                long from = swapFrom;
                long end = swapEnd;
                double worstInSwap = reads.stream().filter(r -> r.end() > from && r.start() < end).mapToDouble(Read::millis).max().orElse(0);
                String perMv = "";
                if (chainLine) {
                    Stats matrix = Stats.of(reads.stream().filter(r -> !r.ledger()).mapToDouble(Read::millis).toArray());
                    Stats ledger = Stats.of(reads.stream().filter(Read::ledger).mapToDouble(Read::millis).toArray());
                    perMv = "driver matrix: " + matrix.n() + " reads, worst " + Measure.f(matrix.max()) + " ms, p99 " + Measure.f(matrix.p99())
                            + " ms; " + LEDGER + ": " + ledger.n() + " reads, worst " + Measure.f(ledger.max()) + " ms, p99 "
                            + Measure.f(ledger.p99()) + " ms";
                }
                note = String.format(java.util.Locale.ROOT, note, Measure.f(worstInSwap), perMv);
            }
            String what = method.equals(RefreshMethod.PLAIN) ? "plain"
                    : method.equals(BASELINE) ? "none (baseline, " + java.math.BigDecimal.valueOf(baseline / 1000.0).stripTrailingZeros().toPlainString() + " s)"
                    : method;
            report.row(what, method.equals(BASELINE) ? "—" : Measure.f(refreshMs),
                    Integer.toString(s.n()), Integer.toString(errors.get()), Measure.f(s.max()), Measure.f(s.p99()), Measure.pct(readerCpu),
                    Measure.pct(after.busyShareSince(before)), note);
            String why = s.n() + " reads, " + errors.get() + " errors during a " + Measure.f(refreshMs) + " ms refresh"
                    + (note.isEmpty() ? "" : "; " + note.substring(0, note.indexOf(';', note.indexOf("overlapping"))))
                    + "; the readers' own threads used " + Measure.pct(readerCpu) + " of the machine";
            if (method.equals(RefreshMethod.CONCURRENTLY)) {
                verdicts.add(new Object[] {Target.READERS_CONCURRENTLY, s.max(), errors.get() == 0, why});
            } else if (method.equals(RefreshMethod.SWAP)) {
                verdicts.add(new Object[] {Target.READERS_SWAP, s.max(), errors.get() == 0, why});
            } else if (chainLine) {
                verdicts.add(new Object[] {Target.READERS_CHAIN_SWAP, s.max(), errors.get() == 0, why});
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
                + "A chain swap (what `refresh --all` does from 4 MB of MVs together, section 2) does the same for every MV of the chain and the view at once: one swap "
                + "transaction drops the old relations and moves the new ones in, and readers of any of them queue behind it alone. "
                + "The baseline row is the same readers with no refresh: on a shared machine, what they would see anyway. "
                + "The readers' CPU is what their JVM threads (the load generator) took of the machine over the line, "
                + "the machine busy column everything: the readers' PostgreSQL backends, the refresh, and anything else on the host.");
    }
}
