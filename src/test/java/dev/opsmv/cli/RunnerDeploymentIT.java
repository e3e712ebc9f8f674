package dev.opsmv.cli;

import static dev.opsmv.cli.Runner.fails;
import static dev.opsmv.cli.Runner.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Required;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/** Issue 3: the deployment jobs of the runbooks, with the jar run as a process against real PostgreSQL. */
class RunnerDeploymentIT {
    private static final Pattern GRAIN_ROW = Pattern.compile("(?m)^\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$");

    @Test
    void checkDuplicatesAndTheUpdatePreflightListExactlyTheInjectedGrains() throws Exception {
        ConnectionSpec clean = Deployed.fixtureDatabase(1_500, 7, 0);
        ConnectionSpec dirty = Deployed.fixtureDatabase(1_500, 7, 3);
        // Oracle independent of Query 2: the same seed without duplicates has the same claims, so the
        // injected ones are the claim ids beyond the clean database's last.
        long lastCleanClaim = Sql.count(clean, "SELECT max(claim_id) FROM claims_cabinet");
        Set<String> injected = new TreeSet<>(Sql.strings(dirty,
                "SELECT driver_id || '/' || milestone_value FROM claims_cabinet WHERE claim_id > " + lastCleanClaim));
        assertEquals(3, injected.size());

        OpsmvProcess.Result check = Runner.on(dirty, "check-duplicates");
        assertEquals(ExitCode.PROBLEM, check.exitCode(), check.toString());
        assertTrue(check.stdout().startsWith("3 duplicate grain(s) in ops.mv_yango_cabinet_claims_for_collection (as computed from public.claims_cabinet)"), check.toString());
        assertEquals(injected, grains(check.stdout()));

        OpsmvProcess.Result update = Runner.on(dirty, "update");
        fails(update, ExitCode.PROBLEM, "update stopped before any change", "3 duplicate grain(s)");
        assertEquals(injected, grains(update.stdout()));
        assertEquals(0, Sql.count(dirty, "SELECT count(*) FROM pg_namespace WHERE nspname = 'ops'"), "nothing applied");
        assertEquals(null, Sql.value(dirty, "SELECT to_regclass('databasechangelog')::text"), "Liquibase never started");

        OpsmvProcess.Result none = ok(Runner.on(clean, "check-duplicates"));
        assertEquals("no duplicate grains in ops.mv_yango_cabinet_claims_for_collection (as computed from public.claims_cabinet)", none.stdout().trim());
    }

    private static Set<String> grains(String out) {
        Set<String> found = new TreeSet<>();
        Matcher m = GRAIN_ROW.matcher(out);
        while (m.find()) {
            assertEquals("2", m.group(3), "two claims per injected grain: " + out);
            found.add(m.group(1) + "/" + m.group(2));
        }
        return found;
    }

    @Test
    void lockTimeoutNamesTheBlockerKeepsHistoryConsistentAndUpdateSucceedsAfterwards() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(500, 21, 0);
        ConnectionSpec reference = Deployed.bundleDatabase(500, 21);
        List<String> fullHistory = Catalog.history(reference);

        OpsmvProcess.Result result;
        int blockerPid;
        boolean sawWaiting = false;
        int runnerIdleInTransaction = 0;
        long millis;
        try (Connection blocker = db.open("incident-blocker"); Statement st = blocker.createStatement()) {
            blocker.setAutoCommit(false);
            // CREATE INDEX CONCURRENTLY needs SHARE UPDATE EXCLUSIVE, which this lock excludes.
            st.execute("LOCK TABLE drivers IN SHARE UPDATE EXCLUSIVE MODE");
            blockerPid = ((Number) Sql.rows(blocker, "SELECT pg_backend_pid() AS pid").get(0).get("pid")).intValue();

            long t0 = System.nanoTime();
            Process p = OpsmvProcess.jar().start("update", "--lock-timeout", "2s", "--url", Cli.urlForArgv(db));
            var out = p.getInputStream();
            var err = p.getErrorStream();
            var stdout = new java.util.concurrent.CompletableFuture<String>();
            var stderr = new java.util.concurrent.CompletableFuture<String>();
            new Thread(() -> stdout.complete(read(out))).start();
            new Thread(() -> stderr.complete(read(err))).start();
            // While the runner waits: it is seen waiting on a lock, and none of its sessions sits in an open transaction.
            while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                List<Map<String, Object>> sessions = Sql.rows(db, "SELECT application_name, state, wait_event_type, left(query, 80) AS query "
                        + "FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'opsmv%'");
                if (sessions.stream().anyMatch(row -> "Lock".equals(row.get("wait_event_type")))) {
                    sawWaiting = true;
                    for (Map<String, Object> row : sessions) {
                        if (String.valueOf(row.get("state")).startsWith("idle in transaction")) {
                            System.out.println("runner session in a transaction during the wait: " + row);
                            runnerIdleInTransaction++;
                        }
                    }
                }
                if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(120)) {
                    p.destroyForcibly();
                    throw new AssertionError("update did not give up while the blocker held its lock");
                }
            }
            millis = (System.nanoTime() - t0) / 1_000_000;
            result = new OpsmvProcess.Result(p.exitValue(), stdout.join(), stderr.join());
            blocker.rollback();
        }
        System.out.println("update --lock-timeout 2s behind a blocker: exit " + result.exitCode() + " after " + millis + " ms (JVM start and earlier changesets included)");
        System.out.println(result.stderr());
        // The blocker's open transaction already stops the first CREATE INDEX CONCURRENTLY (it waits for
        // every older transaction of the database), before its lock on drivers is reached.
        fails(result, ExitCode.LOCK_TIMEOUT, "lock timeout (2s) in changeset changelog/ops/indexes/idx_", "pid " + blockerPid,
                "application 'incident-blocker'", "state 'idle in transaction'", "pg_terminate_backend(" + blockerPid + ")");
        assertTrue(sawWaiting, "the runner was seen waiting for the lock");
        assertEquals(0, runnerIdleInTransaction, "no runner session held a transaction open during the wait");
        assertTrue(millis < 60_000, "gave up long before the blocker ended: " + millis + " ms");

        // History: exactly the changesets before the failed one, no row for it, the lock released.
        Matcher failed = Pattern.compile("in changeset \\S+::(\\S+)::opsmv").matcher(result.stderr());
        assertTrue(failed.find(), result.stderr());
        List<String> history = Catalog.history(db);
        int failedAt = indexOf(fullHistory, failed.group(1));
        assertEquals(fullHistory.subList(0, failedAt), history);
        assertEquals(Boolean.FALSE, Sql.value(db, "SELECT locked FROM databasechangeloglock WHERE id = 1"));
        List<String> invalid = Sql.strings(db, "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid");
        System.out.println("INVALID indexes left by the cancelled build: " + invalid);

        OpsmvProcess.Result again = ok(Runner.on(db, "update"));
        assertTrue(again.stdout().contains("last tag " + Releases.LAST), again.toString());
        for (String name : invalid) {
            assertTrue(again.stdout().contains("pre-flight: INVALID index public." + name), again.toString());
        }
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        assertEquals(fullHistory, Catalog.history(db));
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db));

        // --lock-timeout changes no checksum: a later update with another value validates and finds nothing to do.
        OpsmvProcess.Result later = ok(Runner.on(db, "update", "--lock-timeout", "7s"));
        assertTrue(later.stdout().contains("0 changeset(s) applied"), later.toString());
    }

    private static int indexOf(List<String> history, String id) {
        for (int i = 0; i < history.size(); i++) {
            if (history.get(i).contains("::" + id + "::")) {
                return i;
            }
        }
        throw new AssertionError(id + " not in " + history);
    }

    @Test
    void updateSqlAppliedWithPsqlGivesTheSameCatalogAsUpdate() throws Exception {
        Path psql = Path.of("/usr/bin/psql");
        Required.assumeOrFail(Files.isExecutable(psql), "psql is not installed at /usr/bin/psql: cannot apply the update-sql script");
        ConnectionSpec viaSql = Deployed.fixtureDatabase(800, 13, 0);
        ConnectionSpec viaUpdate = Deployed.fixtureDatabase(800, 13, 0);

        OpsmvProcess.Result sql = ok(Runner.on(viaSql, "update-sql", "--lock-timeout", "9s"));
        String script = sql.stdout();
        assertTrue(script.contains("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_mv_yango_cabinet_claims_for_collection_grain"), script);
        assertTrue(script.contains("SET lock_timeout = '9s';"), "the runner's lock timeout is in the script");
        assertFalse(script.contains("lock_timeout = '5s'"), "and no other");
        assertEquals(List.of(), Catalog.snapshot(viaSql), "update-sql changed nothing");
        assertEquals(null, Sql.value(viaSql, "SELECT to_regclass('databasechangelog')::text"));

        assertTrue(script.contains("DO $opsmv_guard$"), "the grain precondition is in the script as a guard");
        PsqlRun applied = psql(psql, viaSql, script);
        assertEquals(0, applied.exitCode(), applied.output());

        ok(Runner.on(viaUpdate, "update"));
        assertEquals(Catalog.snapshot(viaUpdate), Catalog.snapshot(viaSql));
        assertEquals(Catalog.history(viaUpdate), Catalog.history(viaSql));
        assertTrue(ok(Runner.on(viaSql, "status")).stdout().contains("pending:   0 changeset(s)"));

        // Preconditions are evaluated for update-sql too: duplicates stop the script with the changelog's message.
        ConnectionSpec dirty = Deployed.fixtureDatabase(800, 13, 2);
        fails(Runner.on(dirty, "update-sql"), ExitCode.PROBLEM, "precondition failed: Duplicate claims", "opsmv check-duplicates");

        // A script reviewed while clean but applied after duplicates appeared halts at the guard, before the index.
        ConnectionSpec late = Deployed.fixtureDatabase(800, 13, 0);
        String reviewed = ok(Runner.on(late, "update-sql")).stdout();
        // claims Yango never paid: both copies enter the claims MV (a PAID claim's copy would be latent, and not stop it)
        Sql.exec(late, "INSERT INTO claims_cabinet SELECT claim_id + 1000000, driver_id, milestone_value, amount, status, created_at "
                + "FROM claims_cabinet c WHERE NOT EXISTS (SELECT 1 FROM yango_payments_raw r WHERE r.driver_id = c.driver_id "
                + "AND r.milestone_value = c.milestone_value) ORDER BY claim_id LIMIT 2");
        PsqlRun halted = psql(psql, late, reviewed);
        assertEquals(3, halted.exitCode(), halted.output());
        assertTrue(halted.output().contains("ERROR:  Duplicate claims"), halted.output());
        assertEquals(0, Sql.count(late, "SELECT count(*) FROM databasechangelog WHERE id = 'v1.0-ux_mv_yango_cabinet_claims_for_collection_grain'"));
        assertEquals(0, Sql.count(late, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
    }

    record PsqlRun(int exitCode, String output) {
    }

    private static PsqlRun psql(Path psql, ConnectionSpec db, String script) throws Exception {
        Path file = Files.createTempFile("opsmv-update", ".sql");
        try {
            Files.writeString(file, script);
            ProcessBuilder pb = new ProcessBuilder(psql.toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", db.host(),
                    "-p", Integer.toString(db.port()), "-U", db.user(), "-d", db.database(), "-f", file.toString())
                    .redirectErrorStream(true);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(5, TimeUnit.MINUTES));
            return new PsqlRun(p.exitValue(), out);
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void rollbackToATagDuringAnIncidentRestoresThatState() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(600, 17, 0);
        // The incident happens on release v1.0 (its last three changesets: two health views and the tag).
        ok(Runner.on(db, "update", "--to-tag", "v1.0"));
        List<String> deployed = Catalog.snapshot(db);

        // Tagging the state that already carries v1.0 would overwrite that tag: refused.
        fails(Runner.on(db, "tag", "before-incident"), ExitCode.USAGE, "already carries tag 'v1.0'");

        // The state before the "bad release": the last three changesets not yet there.
        ok(Runner.on(db, "rollback", "--count", "3"));
        List<String> beforeIncident = Catalog.snapshot(db);
        List<String> historyBefore = Catalog.history(db);
        assertNotEquals(deployed, beforeIncident);
        ok(Runner.on(db, "tag", "before-incident"));
        fails(Runner.on(db, "tag", "before-incident"), ExitCode.USAGE, "already");

        ok(Runner.on(db, "update", "--to-tag", "v1.0"));
        assertEquals(deployed, Catalog.snapshot(db));

        // Review first: rollback-sql prints the undo and changes nothing.
        OpsmvProcess.Result review = ok(Runner.on(db, "rollback-sql", "--tag", "before-incident"));
        assertTrue(review.stdout().contains("DROP VIEW IF EXISTS ops.v_yango_cabinet_claims_mv_health"), review.stdout());
        assertEquals(deployed, Catalog.snapshot(db));

        OpsmvProcess.Result rollback = ok(Runner.on(db, "rollback", "--tag", "before-incident"));
        assertTrue(rollback.stdout().contains("undid 3 changeset(s)"), rollback.toString());
        assertEquals(beforeIncident, Catalog.snapshot(db));
        assertEquals(historyBefore, Catalog.history(db));

        ok(Runner.on(db, "rollback", "--tag", "opsmv-empty"));
        // every bundle object is gone but the refresh history, archived (rollback never deletes it)
        assertTrue(Catalog.snapshot(db).stream().allMatch(l -> l.contains("mv_refresh_log_archived_") || l.contains("_20") || l.equals("schema ops")),
                Catalog.snapshot(db).toString());

        // After the incident: forward again to the release tag.
        ok(Runner.on(db, "update", "--to-tag", "v1.0"));
        assertEquals(deployed, Catalog.snapshot(db).stream().filter(l -> !l.contains("_archived_") && !l.matches(".*_20\\d{6}_\\d{6}.*")).toList());
    }

    @Test
    void statusWarnsAboutAStaleLiquibaseLockUpdateIsBusyAndReleaseLocksClearsIt() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        OpsmvProcess.Result fine = ok(Runner.on(db, "status"));
        assertTrue(fine.stdout().contains("last tag " + Releases.LAST), fine.toString());
        assertTrue(fine.stdout().contains("lock:      free"), fine.toString());

        Sql.exec(db, "UPDATE databasechangeloglock SET locked = true, lockedby = 'ci-runner-7 (10.0.0.7)', "
                + "lockgranted = localtimestamp - interval '10 minutes' WHERE id = 1");
        OpsmvProcess.Result stale = Runner.on(db, "status");
        assertEquals(ExitCode.PROBLEM, stale.exitCode(), stale.toString());
        assertTrue(stale.stdout().contains("held by ci-runner-7 (10.0.0.7)"), stale.toString());
        assertTrue(stale.stdout().contains("WARNING: Liquibase's lock has been held for more than 5 minutes"), stale.toString());

        fails(Runner.on(db, "update"), ExitCode.BUSY, "held by ci-runner-7", "release-locks");

        ok(Runner.on(db, "release-locks"));
        assertEquals(Boolean.FALSE, Sql.value(db, "SELECT locked FROM databasechangeloglock WHERE id = 1"));
        assertTrue(ok(Runner.on(db, "status")).stdout().contains("lock:      free"));
    }

    @Test
    void fixtureRefusesADatabaseWithRealSourceTables() throws Exception {
        ConnectionSpec db = dev.opsmv.testing.TestPostgres.freshDatabase();
        Sql.exec(db, "CREATE TABLE drivers (driver_id bigint PRIMARY KEY, real_column text)", "INSERT INTO drivers VALUES (1, 'production row')");
        fails(Runner.on(db, "fixture", "--drivers", "10"), ExitCode.PROBLEM, "refusing to touch this database", "drivers");
        assertEquals(1, Sql.count(db, "SELECT count(*) FROM drivers"));
        assertEquals(null, Sql.value(db, "SELECT to_regclass('claims_cabinet')::text"));

        ConnectionSpec empty = dev.opsmv.testing.TestPostgres.freshDatabase();
        fails(Runner.on(empty, "check-duplicates"), ExitCode.DATABASE, "public.claims_cabinet does not exist");
        fails(Runner.on(empty, "update"), ExitCode.DATABASE, "public.claims_cabinet does not exist");
        ok(Runner.on(empty, "fixture", "--drivers", "50", "--duplicate-claims", "1"));
        assertEquals(50, Sql.count(empty, "SELECT count(*) FROM drivers"));
        assertEquals(ExitCode.PROBLEM, Runner.on(empty, "check-duplicates").exitCode());
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }

}
