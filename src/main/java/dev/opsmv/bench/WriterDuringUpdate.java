package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/** Section 7: `update` on a loaded database while a writer inserts into two source tables. */
final class WriterDuringUpdate {
    private final Report report;
    private final PrintWriter log;

    WriterDuringUpdate(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    void run(ConnectionSpec deployDb, long drivers, long seed) throws Exception {
        log.println("== update on a loaded database while a writer inserts");
        try (Connection c = deployDb.open("opsmv-bench")) {
            SourceFixture fixture = new SourceFixture(c);
            fixture.createTables();
            fixture.generate(SourceFixture.Spec.of(drivers, seed), s -> { });
        }
        AtomicBoolean stop = new AtomicBoolean();
        List<Double> stalls = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        Thread writer = new Thread(() -> {
            try (Connection wc = deployDb.open("opsmv-bench-writer");
                 PreparedStatement claim = wc.prepareStatement(
                         "INSERT INTO claims_cabinet (claim_id, driver_id, milestone_value, amount, status, created_at) VALUES (?, ?, 1, 25, 'submitted', now())");
                 PreparedStatement pay = wc.prepareStatement(
                         "INSERT INTO yango_payments_raw (payment_key, driver_id, milestone_value, amount, paid_date, status, snapshot_at) VALUES (?, ?, 1, 25, current_date, 'paid', now())")) {
                long id = 10_000_000_000L;
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    try {
                        claim.setLong(1, id);
                        claim.setLong(2, id);
                        claim.executeUpdate();
                        pay.setString(1, "BENCH-" + id);
                        pay.setLong(2, id);
                        pay.executeUpdate();
                    } catch (SQLException e) {
                        errors.incrementAndGet();
                    }
                    stalls.add((System.nanoTime() - t0) / 1e6);
                    id++;
                    Thread.sleep(5);
                }
            } catch (SQLException | InterruptedException e) {
                errors.incrementAndGet();
            }
        });
        writer.start();
        Thread.sleep(300);
        long u0 = System.nanoTime();
        try (Connection c = deployDb.open("opsmv-bench-deploy")) {
            Migrator.bundle(c, null).update();
        }
        double updateSecs = Measure.secs(u0);
        Thread.sleep(300);
        stop.set(true);
        writer.join();
        Stats s = Stats.of(stalls.stream().mapToDouble(Double::doubleValue).toArray());
        report.section("7. `update` on a loaded database while a writer inserts into claims_cabinet and yango_payments_raw",
                "| update s | writer inserts | writer errors | writer p50 ms | writer p99 ms | writer longest stall ms |",
                "|---:|---:|---:|---:|---:|---:|");
        report.row(String.format(Locale.ROOT, "%.1f", updateSecs), Integer.toString(s.n()), Integer.toString(errors.get()),
                Measure.f(s.median()), Measure.f(s.p99()), Measure.f(s.max()));
        report.line("");
        String why = s.n() + " inserts, " + errors.get() + " errors; indexes on the source tables are built CONCURRENTLY, so inserts go on";
        report.targetLine(Target.WRITER_STALL, s.max(), errors.get() == 0, why);
        report.target(Target.WRITER_STALL, s.max(), errors.get() == 0, why);
    }
}
