package dev.opsmv.refresh;

import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Sql;

/** Shared helpers of the refresh tests: the runner as a process, scratch MVs, checksums (in-process runs: testing.Cli.on). */
final class RefreshFixtures {
    private RefreshFixtures() {
    }

    /** The runner as a separate JVM (for processes that must die). */
    static OpsmvProcess process(ConnectionSpec db) {
        OpsmvProcess p = OpsmvProcess.classpath();
        if (db.hasPassword()) {
            p.env("PGPASSWORD", db.passwordForChildEnvironment());
        }
        return p;
    }

    static String[] withUrl(ConnectionSpec db, String... args) {
        List<String> argv = new ArrayList<>(List.of(args));
        argv.add("--url");
        argv.add(Cli.urlForArgv(db));
        return argv.toArray(String[]::new);
    }

    /**
     * ops.mv_zz_slow: 2000 rows with a unique index; its query calls public.slow_nap() once (an InitPlan),
     * which sleeps public.slow_config.seconds and then waits as long as public.slow_config.held is true, so a
     * refresh takes as long as the test says, or until the test lets it go ({@link #hold}). Created fast (0 s),
     * then set to {@code seconds}.
     */
    static void createSlowMv(ConnectionSpec db, double seconds) {
        Sql.exec(db,
                "CREATE TABLE public.slow_config (seconds float8 NOT NULL, held boolean NOT NULL DEFAULT false)",
                "INSERT INTO public.slow_config VALUES (0)",
                // names qualified: PostgreSQL 17 refreshes with search_path pg_catalog, pg_temp; each statement of this
                // volatile function reads a new snapshot, so it sees the test's UPDATE of held while it waits
                """
                CREATE FUNCTION public.slow_nap() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
                BEGIN
                    PERFORM pg_catalog.pg_sleep(seconds) FROM public.slow_config;
                    WHILE (SELECT held FROM public.slow_config) LOOP
                        PERFORM pg_catalog.pg_sleep(0.01);
                    END LOOP;
                    RETURN true;
                END $$
                """,
                """
                CREATE MATERIALIZED VIEW ops.mv_zz_slow AS
                SELECT g AS id, g * 2 AS v
                FROM generate_series(1, 2000) g
                WHERE (SELECT public.slow_nap())
                """,
                "CREATE UNIQUE INDEX ux_mv_zz_slow ON ops.mv_zz_slow (id)");
        setSlow(db, seconds);
    }

    static void setSlow(ConnectionSpec db, double seconds) {
        Sql.exec(db, "UPDATE public.slow_config SET seconds = " + seconds);
    }

    /** While held, a refresh of ops.mv_zz_slow waits inside its query (after its seconds), whatever else it waits for. */
    static void hold(ConnectionSpec db, boolean held) {
        Sql.exec(db, "UPDATE public.slow_config SET held = " + held);
    }

    /** Row count and an md5 of every row in a stable order: "count:md5". */
    static String checksum(ConnectionSpec db, String mv) {
        return Sql.value(db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM " + mv + " t").toString();
    }

    static List<java.util.Map<String, Object>> log(ConnectionSpec db, String where) {
        return Sql.rows(db, "SELECT refresh_id, run_id, quote_ident(schema_name) || '.' || quote_ident(mv_name) AS mv, status, method, "
                + "fallback_reason, rows_after_refresh, duration_ms, error_message, backend_pid, client_host, application_name, "
                + "refresh_started_at, refresh_finished_at FROM ops.mv_refresh_log WHERE " + where + " ORDER BY refresh_id");
    }

    /**
     * A deployed bundle whose refresh log holds only what the engine under test writes: the
     * deployment's own rows (the event trigger records every MV it builds) are cleared.
     */
    static ConnectionSpec deployedWithEmptyLog(long drivers, long seed) {
        ConnectionSpec db = dev.opsmv.testing.Deployed.bundleDatabase(drivers, seed);
        Sql.exec(db, "DELETE FROM ops.mv_refresh_log");
        return db;
    }
}
