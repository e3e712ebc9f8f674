package dev.opsmv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.LegacyDatabase;
import dev.opsmv.testing.MvIdentity;
import dev.opsmv.testing.Sql;

/**
 * A lock timeout is exit 4 from every command that waits for a lock (docs/COMMANDS.md#exit-codes),
 * whatever the mechanism that gave up: Liquibase's DDL (update, rollback), a REFRESH (plain or
 * CONCURRENTLY), a swap's last transaction (refresh --method swap, update --replace-differing), a
 * REINDEX. Each case holds a real lock in another session, names it in the command's line, and
 * leaves what was serving as it was.
 */
class LockTimeoutExitCodeTest {
    private static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";
    private static final String CLAIMS = "ops.mv_yango_cabinet_claims_for_collection";

    /** Runs {@code argv} while another session holds {@code lock} in an open transaction; asserts exit 4 and a line that says so. */
    private static Cli.Result whileLocked(ConnectionSpec db, String lock, String... argv) throws Exception {
        try (Connection blocker = db.open("lock-holder"); Statement st = blocker.createStatement()) {
            blocker.setAutoCommit(false);
            st.execute(lock);
            List<String> args = new java.util.ArrayList<>(List.of(argv));
            args.addAll(List.of("--url", Cli.url(db)));
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            blocker.rollback();
            assertEquals(ExitCode.LOCK_TIMEOUT, r.exitCode(), String.join(" ", argv) + ": " + r);
            assertTrue(r.all().toLowerCase(java.util.Locale.ROOT).contains("lock"), String.join(" ", argv) + ": " + r);
            assertTrue(!r.all().contains("\tat "), "no stack: " + r);
            return r;
        }
    }

    /** LOCK TABLE takes no MV: a CREATE INDEX left uncommitted holds SHARE on it (rolled back, nothing stays). */
    private static String shareLock(ConnectionSpec db, String mv) {
        Object column = Sql.value(db, "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = '" + mv + "'::regclass AND attnum = 1");
        return "CREATE INDEX lock_holder ON " + mv + " (" + column + ")";
    }

    @Test
    void refreshReindexAndSwapGiveUpWithExit4AndLeaveTheMvServing() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        List<String> identity = MvIdentity.of(db, MATRIX);
        long oid = Sql.count(db, "SELECT '" + MATRIX + "'::regclass::oid::bigint");
        // SHARE conflicts with what each of them takes: EXCLUSIVE (CONCURRENTLY), ACCESS EXCLUSIVE (plain, the swap's
        // DROP), SHARE UPDATE EXCLUSIVE (REINDEX CONCURRENTLY)
        String lock = shareLock(db, MATRIX);
        for (String method : List.of("concurrently", "plain", "swap")) {
            Cli.Result r = whileLocked(db, lock, "refresh", MATRIX, "--method", method, "--lock-timeout", "300ms");
            assertTrue(r.all().contains("300ms"), method + ": the timeout that ran out is named: " + r);
            assertTrue(r.all().contains("application 'lock-holder'"), method + ": and who held the lock: " + r);
        }
        whileLocked(db, lock, "reindex", "mv_payments_driver_matrix_cabinet", "--lock-timeout", "300ms");
        assertEquals(oid, Sql.count(db, "SELECT '" + MATRIX + "'::regclass::oid::bigint"), "the serving MV is the same relation");
        assertEquals(identity, MvIdentity.of(db, MATRIX));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'opsmv_swap_%'"), "no scratch schema left");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "no half-built index left");
        assertEquals(3, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_payments_driver_matrix_cabinet' "
                + "AND status = 'ERROR' AND refresh_finished_at IS NOT NULL AND error_message LIKE '%300ms%'"), "each refresh logged its failure, with the timeout");
    }

    @Test
    void updateAndRollbackGiveUpWithExit4() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED, "v1.6");
        // release v1.7 alters the policy table (ACCESS EXCLUSIVE); a reader's open transaction holds ACCESS SHARE on it
        String lock = "SELECT count(*) FROM ops.mv_refresh_policy";
        Cli.Result update = whileLocked(db, lock, "update", "--lock-timeout", "300ms");
        assertTrue(update.all().contains("lock timeout (300ms)") && update.all().contains("application 'lock-holder'"), update.toString());

        Cli.Result done = Cli.run("update", "--url", Cli.url(db));
        assertEquals(ExitCode.OK, done.exitCode(), done.toString());
        // rollback has the changelog's own lock_timeout (5s), as the stock CLI runs it
        Cli.Result rollback = whileLocked(db, lock, "rollback", "--tag", "v1.6");
        assertTrue(rollback.all().contains("lock timeout"), rollback.toString());
    }

    @Test
    void replaceDifferingGivesUpWithExit4AndKeepsProductionsMv() throws Exception {
        ConnectionSpec db = LegacyDatabase.build(300, Deployed.SHARED_SEED, 0, LegacyDatabase.CLAIMS_MV_OF_PRODUCTION);
        List<String> identity = MvIdentity.of(db, CLAIMS);
        long oid = Sql.count(db, "SELECT '" + CLAIMS + "'::regclass::oid::bigint");
        // the form of the docs ("1m" would do too): PostgreSQL gets its own form, and the swap gives up after it
        Cli.Result r = whileLocked(db, shareLock(db, CLAIMS), "update", "--replace-differing", "--lock-timeout", "300ms");
        assertTrue(r.all().contains(CLAIMS), r.toString());
        assertEquals(oid, Sql.count(db, "SELECT '" + CLAIMS + "'::regclass::oid::bigint"), "production's MV still serves");
        assertEquals(identity, MvIdentity.of(db, CLAIMS));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'opsmv_swap_%'"), "no scratch schema left");
    }
}
