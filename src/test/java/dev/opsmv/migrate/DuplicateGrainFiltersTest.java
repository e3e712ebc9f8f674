package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * Issue 11: the deployment's duplicate guard checks exactly the rows the claims MV will hold, so
 * duplicates on the far side of each of its filters (PAID claims, NULL keys, claims without an id)
 * do not halt a deployment that would succeed; the PAID ones are reported as latent (a reversed
 * payment brings them in), and once they do enter, check-duplicates --mv finds them in the MV.
 */
// "newest": the pre-flight's duplicate queries on PostgreSQL 18 too
@Tag("newest")
class DuplicateGrainFiltersTest {
    static final long PAID_DRIVER = 900_001;
    static final long UNPAID_DRIVER = 900_002;
    static final long NULL_KEY_DRIVER = 900_003;
    static final long NO_ID_DRIVER = 900_004;

    /** Claims beyond the fixture's drivers, on each side of each filter of the MV. */
    static void claimsOnTheFarSideOfEveryFilter(ConnectionSpec db) {
        Sql.exec(db,
                // the source enforces none of these in production: no key, no NOT NULL
                "ALTER TABLE claims_cabinet DROP CONSTRAINT claims_cabinet_pkey",
                "ALTER TABLE claims_cabinet ALTER COLUMN claim_id DROP NOT NULL",
                "ALTER TABLE claims_cabinet ALTER COLUMN milestone_value DROP NOT NULL",
                // two claims of a grain Yango paid in full: PAID, filtered out of the MV
                "INSERT INTO claims_cabinet VALUES (9000011, " + PAID_DRIVER + ", 5, 50, 'submitted', now() - interval '10 days'), "
                        + "(9000012, " + PAID_DRIVER + ", 5, 50, 'submitted', now() - interval '9 days')",
                "INSERT INTO yango_payments_raw VALUES ('pay-900001-5', " + PAID_DRIVER + ", 5, 50, current_date - 3, 'paid', now() - interval '2 days', 'file-1')",
                // two claims without a milestone: NULL keys never collide in a unique index
                "INSERT INTO claims_cabinet VALUES (9000031, " + NULL_KEY_DRIVER + ", NULL, 50, 'submitted', now()), "
                        + "(9000032, " + NULL_KEY_DRIVER + ", NULL, 50, 'submitted', now())",
                // two claims without an id: the claims status MV leaves them out
                "INSERT INTO claims_cabinet VALUES (NULL, " + NO_ID_DRIVER + ", 25, 80, 'submitted', now()), "
                        + "(NULL, " + NO_ID_DRIVER + ", 25, 80, 'submitted', now())");
    }

    @Test
    void duplicatesTheMvFiltersOutDoNotHaltAndPaidOnesAreLatent() {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        claimsOnTheFarSideOfEveryFilter(db);

        Cli.Result check = Cli.run("check-duplicates", "--url", Cli.url(db));
        assertEquals(0, check.exitCode(), check.toString());
        assertTrue(check.out().contains("warning: 1 latent duplicate grain(s)"), check.out());
        assertTrue(check.out().matches("(?s).*\\s" + PAID_DRIVER + "\\s+5\\s+2\\n.*"), check.out());
        assertFalse(check.out().contains(String.valueOf(NULL_KEY_DRIVER)) || check.out().contains(String.valueOf(NO_ID_DRIVER)), check.out());

        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(0, update.exitCode(), update.toString());
        assertTrue(update.out().contains("latent duplicate grain"), update.out());
        assertEquals(1L, Sql.count(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                + "WHERE c.relname = 'ux_mv_yango_cabinet_claims_for_collection_grain' AND i.indisvalid"));
        Cli.Result verify = Cli.run("verify", "--url", Cli.url(db));
        assertTrue(verify.out().contains("1 latent grain(s) filtered out today"), verify.out());

        // the payment is reversed: the two PAID claims become REVERSED and both enter the MV
        Sql.exec(db, "INSERT INTO yango_payments_raw VALUES ('pay-900001-5', " + PAID_DRIVER + ", 5, 50, current_date - 3, 'reversed', now(), 'file-2')");
        Cli.Result refresh = Cli.run("refresh", "--all", "--url", Cli.url(db));
        assertEquals(1, refresh.exitCode(), "the CONCURRENTLY refresh of the claims MV fails (23505): " + refresh);
        Cli.Result plain = Cli.run("refresh", "mv_yango_cabinet_claims_for_collection", "--concurrently", "never", "--url", Cli.url(db));
        assertEquals(1, plain.exitCode(), "the unique index rejects them in a plain refresh too: " + plain);
        Cli.Result now = Cli.run("check-duplicates", "--url", Cli.url(db));
        assertEquals(1, now.exitCode(), now.toString());
        assertTrue(now.out().matches("(?s).*\\s" + PAID_DRIVER + "\\s+5\\s+2\\n.*"), now.out());
    }

    @Test
    void duplicatesTheMvWouldHoldHaltTheDeploymentBeforeAnyChange() {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        claimsOnTheFarSideOfEveryFilter(db);
        Sql.exec(db, "INSERT INTO claims_cabinet VALUES (9000021, " + UNPAID_DRIVER + ", 1, 25, 'submitted', now()), "
                + "(9000022, " + UNPAID_DRIVER + ", 1, 25, 'submitted', now())");
        Cli.Result update = Cli.run("update", "--url", Cli.url(db));
        assertEquals(1, update.exitCode(), update.toString());
        assertTrue(update.out().matches("(?s).*1 duplicate grain\\(s\\).*\\s" + UNPAID_DRIVER + "\\s+1\\s+2\\n.*"), update.out());
        assertTrue(update.err().contains("update stopped before any change"), update.err());
        assertEquals(null, Sql.value(db, "SELECT to_regclass('databasechangelog')::text"));
    }

    @Test
    void query2OnTheMvFindsWhatARefreshWouldReject() {
        ConnectionSpec db = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
        assertEquals(0, Cli.run("check-duplicates", "--mv", "--url", Cli.url(db)).exitCode());
        // duplicates in the MV itself (a unique index dropped by hand, then a plain refresh)
        Sql.exec(db, "DROP INDEX ops.ux_mv_yango_cabinet_claims_for_collection_grain",
                "INSERT INTO claims_cabinet VALUES (9000021, " + UNPAID_DRIVER + ", 1, 25, 'submitted', now()), "
                        + "(9000022, " + UNPAID_DRIVER + ", 1, 25, 'submitted', now())",
                "REFRESH MATERIALIZED VIEW ops.mv_claims_payment_status_cabinet",
                "REFRESH MATERIALIZED VIEW ops.mv_yango_cabinet_claims_for_collection");
        Cli.Result mv = Cli.run("check-duplicates", "--mv", "--url", Cli.url(db));
        assertEquals(1, mv.exitCode(), mv.toString());
        assertTrue(mv.out().contains("count_duplicates"), mv.out());
        assertTrue(mv.out().matches("(?s).*\\s" + UNPAID_DRIVER + "\\s+1\\s+2\\n.*"), mv.out());
    }
}
