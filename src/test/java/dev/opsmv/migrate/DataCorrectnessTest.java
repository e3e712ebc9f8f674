package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.TestPostgres;

/** Issue 2: the MVs hold the values worked out by hand, and the driver-matrix MV equals its plain view. */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class DataCorrectnessTest {

    @Test
    void handBuiltFixtureGivesTheHandComputedRows() throws Exception {
        ConnectionSpec db = TestPostgres.freshDatabase();
        try (Connection c = db.open()) {
            new SourceFixture(c).createTables();
        }
        Sql.exec(db, """
                INSERT INTO drivers (driver_id, origin_tag, lead_date, week_start, park_id) VALUES
                  (1, 'cabinet', DATE '2026-11-03', DATE '2026-11-02', 'park-01'),
                  (2, 'fleet',   DATE '2026-11-10', DATE '2026-11-09', 'park-02'),
                  (3, 'cabinet', DATE '2026-11-11', DATE '2026-11-09', 'park-01')
                """, """
                INSERT INTO milestones_achieved VALUES
                  (1, 1, '2026-11-04 10:00+00'), (1, 5, '2026-11-12 10:00+00'),
                  (2, 1, '2026-11-11 09:00+00'),
                  (3, 1, '2026-11-12 09:00+00')
                """, """
                INSERT INTO payment_calc (driver_id, milestone_value, expected_amount, rule_code, origin_tag, week_start) VALUES
                  (1, 1, 25, 'M1', 'cabinet', DATE '2026-11-02'), (1, 5, 75, 'M5', 'cabinet', DATE '2026-11-02'),
                  (2, 1, 25, 'M1', 'fleet', DATE '2026-11-09'),
                  (3, 1, 25, 'M1', 'cabinet', DATE '2026-11-09')
                """, """
                INSERT INTO claims_cabinet VALUES
                  (10, 1, 1, 25, 'accepted',  now() - interval '40 days'),
                  (11, 1, 5, 75, 'submitted', now() - interval '10 days'),
                  (12, 2, 1, 25, 'submitted', now() - interval '95 days')
                """, """
                INSERT INTO yango_payments_raw (payment_key, driver_id, milestone_value, amount, paid_date, status, snapshot_at) VALUES
                  -- driver 1, m1: paid in full, seen in three snapshots
                  ('P1', 1, 1, 25, DATE '2026-11-14', 'paid', '2026-11-15 06:00+00'),
                  ('P1', 1, 1, 25, DATE '2026-11-14', 'paid', '2026-11-16 06:00+00'),
                  ('P1', 1, 1, 25, DATE '2026-11-14', 'paid', '2026-11-17 06:00+00'),
                  -- driver 1, m5: 30 paid, seen twice
                  ('P2', 1, 5, 30, DATE '2026-11-16', 'paid', '2026-11-16 06:00+00'),
                  ('P2', 1, 5, 30, DATE '2026-11-16', 'paid', '2026-11-17 06:00+00'),
                  -- driver 2, m1: paid, then reversed by the latest snapshot
                  ('P3', 2, 1, 25, DATE '2026-11-13', 'paid', '2026-11-14 06:00+00'),
                  ('P3', 2, 1, 25, DATE '2026-11-13', 'reversed', '2026-11-17 06:00+00'),
                  -- driver 3, m1: paid without a claim
                  ('P4', 3, 1, 25, DATE '2026-11-15', 'paid', '2026-11-16 06:00+00')
                """);
        try (Connection c = db.open()) {
            Migrator.bundle(c, null).update();
        }

        assertEquals(List.of(
                        "1|5|11|submitted|PARTIAL|75.00|30.00|45.00|10|0-30",
                        "2|1|12|submitted|REVERSED|25.00|0.00|25.00|95|90+"),
                Sql.strings(db, """
                        SELECT concat_ws('|', driver_id, milestone_value, claim_id, claim_status, payment_status,
                                         claim_amount, paid_amount, amount_due, aging_days, aging_bucket)
                        FROM ops.mv_yango_cabinet_claims_for_collection ORDER BY driver_id, milestone_value
                        """));

        assertEquals(List.of(
                        "1|cabinet|2026-11-02|t|25.00|25.00|accepted|t|75.00|30.00|submitted|f|0.00|0.00|not_claimed|100.00|55.00|45.00|2",
                        "2|fleet|2026-11-09|t|25.00|0.00|submitted|f|0.00|0.00|not_claimed|f|0.00|0.00|not_claimed|25.00|0.00|25.00|1",
                        "3|cabinet|2026-11-09|t|25.00|25.00|not_claimed|f|0.00|0.00|not_claimed|f|0.00|0.00|not_claimed|25.00|25.00|0.00|0"),
                Sql.strings(db, """
                        SELECT concat_ws('|', driver_id, origin_tag, week_start,
                                         m1_achieved, m1_expected, m1_paid, m1_claim_status,
                                         m5_achieved, m5_expected, m5_paid, m5_claim_status,
                                         m25_achieved, m25_expected, m25_paid, m25_claim_status,
                                         expected_total, paid_total, balance_total, claims_count)
                        FROM ops.mv_payments_driver_matrix_cabinet ORDER BY driver_id
                        """));

        List<Map<String, Object>> receivable = Sql.rows(db,
                "SELECT driver_id, milestone_value, receivable_amount, payable_amount, balance_amount FROM ops.mv_yango_receivable_payable_detail ORDER BY 1, 2");
        assertEquals(4, receivable.size());
        assertEquals(new BigDecimal("45.00"), receivable.get(1).get("receivable_amount"));
        assertEquals(new BigDecimal("25.00"), receivable.get(2).get("receivable_amount"), "a reversed payment is not paid");
        assertEquals(new BigDecimal("0.00"), receivable.get(3).get("balance_amount"));
        assertEquals(List.of("P1|paid|2026-11-17 06:00", "P2|paid|2026-11-17 06:00", "P3|reversed|2026-11-17 06:00", "P4|paid|2026-11-16 06:00"),
                Sql.strings(db, "SELECT payment_key || '|' || status || '|' || to_char(snapshot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM ops.mv_yango_payments_raw_current ORDER BY 1"));
    }

    @Test
    void generatedDataDriverMatrixMvEqualsItsPlainView() {
        ConnectionSpec db = Deployed.bundleDatabase(5_000, 21);
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM ops.mv_payments_driver_matrix_cabinet EXCEPT ALL SELECT * FROM ops.v_payments_driver_matrix_cabinet) d"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM (SELECT * FROM ops.v_payments_driver_matrix_cabinet EXCEPT ALL SELECT * FROM ops.mv_payments_driver_matrix_cabinet) d"));
        assertEquals(5_000, Sql.count(db, "SELECT count(*) FROM ops.mv_payments_driver_matrix_cabinet"));
        // The generator produced every case the views must handle.
        assertEquals(List.of("PAID", "PARTIAL", "REVERSED", "UNPAID"),
                Sql.strings(db, "SELECT DISTINCT payment_status FROM ops.mv_claims_payment_status_cabinet ORDER BY 1"));
        assertEquals(List.of("cabinet", "fleet", "partner_api", "referral"),
                Sql.strings(db, "SELECT DISTINCT origin_tag FROM drivers ORDER BY 1"));
        assertEquals(List.of("1", "5", "25"), Sql.strings(db, "SELECT DISTINCT milestone_value FROM milestones_achieved ORDER BY 1"));
        assertEquals(1L, Sql.count(db, "SELECT (count(*) > 0)::int FROM payment_calc pc WHERE NOT EXISTS (SELECT 1 FROM claims_cabinet c WHERE c.driver_id = pc.driver_id AND c.milestone_value = pc.milestone_value)"));
        assertEquals(1L, Sql.count(db, "SELECT (max(n) > 1)::int FROM (SELECT count(*) n FROM yango_payments_raw GROUP BY payment_key) s"));
    }
}
