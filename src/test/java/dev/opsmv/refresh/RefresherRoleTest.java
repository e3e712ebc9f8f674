package dev.opsmv.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Roles;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The optional least-privilege changelog, the pg_cron procedure, and `schedule` without pg_cron. */
@Tag("matrix")
class RefresherRoleTest {

    @Test
    void aLoginRoleGrantedTheRefresherCanRefreshTheBundleAndNothingElse() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        Roles.apply(db, Changelog.REFRESHER_ROLE);
        ConnectionSpec asLogin = Roles.login(db, "login", "opsmv_refresher");
        String login = asLogin.user();
        Sql.exec(db, "CREATE MATERIALIZED VIEW ops.mv_scratch_outside AS SELECT driver_id FROM public.drivers");
        try {
            try (Connection c = asLogin.open("opsmv-tests"); Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("SELECT ops.opsmv_refresh('mv_yango_payments_raw_current', true)")) {
                    rs.next();
                    assertEquals(Sql.count(db, "SELECT count(*) FROM ops.mv_yango_payments_raw_current"), rs.getLong(1));
                }
                assertState(st, "SELECT ops.opsmv_refresh('ops.mv_scratch_outside', false)", "42501");
                assertState(st, "REFRESH MATERIALIZED VIEW ops.mv_yango_payments_raw_current", "42501");
                assertState(st, "SELECT count(*) FROM ops.mv_payments_driver_matrix_cabinet", "42501");
                assertState(st, "SELECT count(*) FROM public.drivers", "42501");
                assertState(st, "DROP MATERIALIZED VIEW ops.mv_yango_payments_raw_current", "42501");
                assertState(st, "DELETE FROM ops.mv_refresh_log", "42501");
                assertState(st, "INSERT INTO ops.mv_refresh_policy (mv_name, warn_after_hours, crit_after_hours) VALUES ('mv_scratch_outside', 1, 2)", "42501");
            }
            // The runner itself, connected as that role: it goes through ops.opsmv_refresh for MVs it does not own.
            // 50 rows past their retention: the run ends with the prune, which the refresher may run (v03's grant)
            Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                    + "SELECT 'ops', 'mv_yango_payments_raw_current', now() - i * interval '1 day', now() - i * interval '1 day', 5, 'OK', 'PLAIN' "
                    + "FROM generate_series(100, 149) i");
            Cli.Result r = Cli.on(asLogin, "refresh", "--all");
            assertEquals(ExitCode.OK, r.exitCode(), r.all());
            assertTrue(r.out().contains("prune: 50 row(s) of ops.mv_refresh_log past their retention deleted"), r.out());
            assertState(asLoginStatement(asLogin), "DELETE FROM ops.mv_refresh_log", "42501");
            assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK' AND refreshed_by = '" + login + "' AND run_id IS NOT NULL"));
            // the direct call of ops.opsmv_refresh above was a refresh outside the runner: the event trigger logged it
            assertEquals(1, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK' AND refreshed_by = '" + login + "' AND run_id IS NULL "
                    + "AND fallback_reason = 'refreshed outside opsmv'"));
            Cli.Result outside = Cli.on(asLogin, "refresh", "mv_scratch_outside");
            assertEquals(ExitCode.PROBLEM, outside.exitCode(), outside.all());
            assertTrue(outside.out().contains("42501"), outside.out());

            // The SQL a pg_cron job runs, as the refresher: in order, each committed and logged.
            Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                    + "SELECT 'ops', 'mv_yango_payments_ledger_latest', now() - i * interval '1 day', now() - i * interval '1 day', 5, 'OK', 'PLAIN' "
                    + "FROM generate_series(100, 129) i");
            try (Connection c = asLogin.open("opsmv-tests"); Statement st = c.createStatement()) {
                st.execute("CALL ops.opsmv_refresh_scheduled(ARRAY['ops.mv_yango_payments_raw_current', 'ops.mv_yango_payments_ledger_latest'])");
            }
            assertEquals(0, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refresh_started_at < now() - interval '90 days'"),
                    "the pg_cron run ends with the retention too");
            assertEquals(2, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE application_name = 'opsmv-pg_cron' AND status = 'OK' "
                    + "AND rows_after_refresh IS NOT NULL AND method = 'CONCURRENTLY'"));
        } finally {
            Sql.exec(db, "DROP OWNED BY " + login, "DROP ROLE " + login);
        }

        try (Connection c = db.open()) {
            Migrator.changelog(c, Changelog.REFRESHER_ROLE, null).rollbackCount(8);
        }
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_proc WHERE proname = 'opsmv_prune_batch' AND proacl::text LIKE '%opsmv_refresher%'"),
                "the prune grant is revoked");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_proc WHERE proname IN ('opsmv_refresh', 'opsmv_refresh_scheduled')"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'opsmv_refresher'"));
    }

    private static Statement asLoginStatement(ConnectionSpec asLogin) throws SQLException {
        return asLogin.open("opsmv-tests").createStatement();
    }

    private static void assertState(Statement st, String sql, String sqlState) {
        SQLException e = assertThrows(SQLException.class, () -> st.execute(sql), sql);
        assertEquals(sqlState, e.getSQLState(), sql + ": " + e.getMessage());
    }

    @Test
    void scheduleWithoutPgCronIsAClearErrorAndChangesNothing() {
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        Cli.Result dry = Cli.on(db, "schedule", "--pg-cron", "0 * * * *", "--dry-run");
        assertEquals(ExitCode.OK, dry.exitCode(), dry.all());
        assertTrue(dry.out().startsWith("SELECT cron.schedule('opsmv-refresh', '0 * * * *', 'CALL ops.opsmv_refresh_scheduled(ARRAY[''ops.mv_yango_payments_raw_current'', ''ops.mv_yango_payments_ledger_latest''"),
                dry.out());
        Cli.Result r = Cli.on(db, "schedule", "--pg-cron", "0 * * * *");
        assertEquals(ExitCode.DATABASE, r.exitCode(), r.all());
        assertTrue(r.err().contains("pg_cron is not installed"), r.err());
        Cli.Result bad = Cli.on(db, "schedule", "--pg-cron", "hourly");
        assertEquals(ExitCode.USAGE, bad.exitCode(), bad.all());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cron'"));
    }
}
