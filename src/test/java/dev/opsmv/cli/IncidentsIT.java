package dev.opsmv.cli;

import static dev.opsmv.cli.Runner.fails;
import static dev.opsmv.cli.Runner.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/**
 * Issue 13: incidents that need no human. The runner is the packaged jar as a process, killed,
 * interrupted or cut off from the database in the middle of an update, on a real PostgreSQL.
 * "In the middle" is made reliable by a test session that holds SHARE UPDATE EXCLUSIVE on drivers
 * in an open transaction: the update applies the changesets before the first index build, then
 * that CREATE INDEX CONCURRENTLY waits (for as long as --lock-timeout 300s allows).
 */
class IncidentsIT {
    private static final Pattern RUNNER_HOLDER = Pattern.compile("^opsmv@\\S+ pid (\\d+)$");

    /** A runner process with its output collected as it goes. */
    private record Running(Process process, CompletableFuture<String> stdout, CompletableFuture<String> stderr) {
        static Running start(ConnectionSpec db, String... args) throws Exception {
            List<String> all = new ArrayList<>(List.of(args));
            all.add("--url");
            all.add(Cli.urlForArgv(db));
            Process p = OpsmvProcess.jar().start(all.toArray(String[]::new));
            var out = new CompletableFuture<String>();
            var err = new CompletableFuture<String>();
            new Thread(() -> out.complete(read(p.getInputStream()))).start();
            new Thread(() -> err.complete(read(p.getErrorStream()))).start();
            return new Running(p, out, err);
        }

        OpsmvProcess.Result await(long seconds) throws Exception {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("the runner did not end in " + seconds + " s");
            }
            return new OpsmvProcess.Result(process.exitValue(), stdout.join(), stderr.join());
        }

        void signal(String name) throws Exception {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor(), "kill -" + name);
        }
    }

    /** Holds SHARE UPDATE EXCLUSIVE on drivers in an open transaction until closed. */
    private static Connection blocker(ConnectionSpec db) throws Exception {
        Connection c = db.open("incident-blocker");
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("LOCK TABLE drivers IN SHARE UPDATE EXCLUSIVE MODE");
        }
        return c;
    }

    /** Waits until the runner's main session waits on a lock (mid-update); returns its backend pid. */
    private static int waitUntilBlocked(ConnectionSpec db, Running r) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!r.process().isAlive()) {
                throw new AssertionError("the runner ended before it was blocked: " + r.await(1));
            }
            List<String> pids = Sql.strings(db, "SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND application_name = 'opsmv' AND wait_event_type = 'Lock'");
            if (!pids.isEmpty()) {
                return Integer.parseInt(pids.get(0));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the runner never waited on the blocker's lock");
    }

    private static void waitUntilGone(ConnectionSpec db, int pid, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("backend " + pid + " still exists after " + seconds + " s");
            }
            Thread.sleep(100);
        }
    }

    private static boolean locked(ConnectionSpec db) {
        return Boolean.TRUE.equals(Sql.value(db, "SELECT locked FROM databasechangeloglock WHERE id = 1"));
    }

    @Test
    void aSigkilledRunnerLeavesALockTheNextUpdateClearsItselfWithoutReleaseLocks() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        ConnectionSpec reference = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
        int runnerPid;
        String lockedBy;
        try (Connection blocker = blocker(db)) {
            Running r = Running.start(db, "update", "--lock-timeout", "300s");
            runnerPid = waitUntilBlocked(db, r);
            lockedBy = (String) Sql.value(db, "SELECT lockedby FROM databasechangeloglock WHERE id = 1");
            Matcher m = RUNNER_HOLDER.matcher(lockedBy);
            assertTrue(m.matches(), "LOCKEDBY names the runner: " + lockedBy);
            assertEquals(runnerPid, Integer.parseInt(m.group(1)), "and its backend pid");
            OpsmvProcess.Result alive = Runner.on(db, "status");
            assertTrue(alive.stdout().contains("lock:      held by " + lockedBy) && alive.stdout().contains("an opsmv runner whose session is alive"), alive.toString());
            fails(Runner.on(db, "update"), ExitCode.BUSY, "held by " + lockedBy, "session is alive", "pg_terminate_backend(" + runnerPid + ")");

            r.process().destroyForcibly(); // SIGKILL: no hook runs
            assertEquals(137, r.process().waitFor());
            // client_connection_check_interval: the backend notices its client is gone while it still waits
            waitUntilGone(db, runnerPid, 20);
            assertTrue(locked(db), "the killed runner's row is still there");
            OpsmvProcess.Result dead = Runner.on(db, "status");
            assertTrue(dead.stdout().contains("an opsmv runner whose session has ended")
                    && dead.stdout().contains("the next update, rollback or tag clears it itself"), dead.toString());
            blocker.rollback();
        }
        long applied = Sql.count(db, "SELECT count(*) FROM databasechangelog");
        assertTrue(applied > 0, "the killed update had applied changesets before the index build");

        OpsmvProcess.Result next = ok(Runner.on(db, "update"));
        assertTrue(next.stderr().contains("opsmv: released Liquibase's lock left by " + lockedBy + " (held since "), next.toString());
        assertEquals(1, next.stderr().lines().filter(l -> l.contains("released Liquibase's lock")).count(), next.toString());
        assertTrue(next.stdout().contains("last tag " + Releases.LAST), next.toString());
        assertFalse(locked(db));
        assertEquals(Catalog.history(reference), Catalog.history(db));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db));
    }

    @Test
    void aLockOfAnotherClientOrOfALiveRunnerIsNeverTouched() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        long before = Sql.count(db, "SELECT count(*) FROM databasechangelog");
        // A stock CLI's lock: a second JDBC session holds the row with a host-style LOCKEDBY.
        try (Connection stock = db.open("liquibase-stock"); Statement st = stock.createStatement()) {
            st.execute("UPDATE databasechangeloglock SET locked = true, lockedby = 'build-7 (10.1.2.3)', lockgranted = localtimestamp WHERE id = 1");
            long t0 = System.nanoTime();
            fails(Runner.on(db, "update"), ExitCode.BUSY, "held by build-7 (10.1.2.3) since", "not an opsmv runner", "release-locks");
            fails(Runner.on(db, "rollback", "--count", "1"), ExitCode.BUSY, "held by build-7 (10.1.2.3)", "not an opsmv runner");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(120), "no five-minute wait for the lock");
            assertTrue(Runner.on(db, "status").stdout().contains("not an opsmv runner (its liveness cannot be checked)"));
            assertEquals("build-7 (10.1.2.3)", Sql.value(db, "SELECT lockedby FROM databasechangeloglock WHERE id = 1"), "untouched");
            st.execute("UPDATE databasechangeloglock SET locked = false, lockedby = NULL, lockgranted = NULL WHERE id = 1");
        }
        assertEquals(before, Sql.count(db, "SELECT count(*) FROM databasechangelog"));

        // A live opsmv runner: its session holds the advisory lock and the row names it.
        String name;
        try (Connection runner = db.open("opsmv"); Statement st = runner.createStatement()) {
            int pid = ((Number) Sql.rows(runner, "SELECT pg_backend_pid() AS pid").get(0).get("pid")).intValue();
            st.execute("SELECT pg_advisory_lock(hashtext('opsmv.liquibase'), hashtext('databasechangeloglock'))");
            name = "opsmv@elsewhere pid " + pid;
            st.execute("UPDATE databasechangeloglock SET locked = true, lockedby = '" + name + "', lockgranted = localtimestamp WHERE id = 1");
            fails(Runner.on(db, "rollback", "--count", "1"), ExitCode.BUSY, "held by " + name, "session is alive");
            assertTrue(Runner.on(db, "status").stdout().contains("an opsmv runner whose session is alive"));
        }
        // Its session ended (the row stays): the next command clears it and goes on.
        assertTrue(Runner.on(db, "status").stdout().contains("an opsmv runner whose session has ended"));
        OpsmvProcess.Result again = ok(Runner.on(db, "update"));
        Pattern released = Pattern.compile("opsmv: released Liquibase's lock left by " + Pattern.quote(name)
                + " \\(held since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\): that runner's session has ended");
        assertEquals(1, again.stderr().lines().filter(l -> released.matcher(l).matches()).count(), again.toString());
        assertFalse(locked(db));
        assertEquals(before, Sql.count(db, "SELECT count(*) FROM databasechangelog"));

        // tag takes the same lock: a foreign holder stops it too. (A state whose last changeset carries
        // no tag, as after any changeset beyond a release; else tag refuses before it locks.)
        Sql.exec(db, "UPDATE databasechangelog SET tag = NULL WHERE tag = '" + Releases.LAST + "'");
        Sql.exec(db, "UPDATE databasechangeloglock SET locked = true, lockedby = 'build-7 (10.1.2.3)', lockgranted = localtimestamp WHERE id = 1");
        fails(Runner.on(db, "tag", "incident-13"), ExitCode.BUSY, "held by build-7 (10.1.2.3)", "not an opsmv runner");
        assertEquals(List.of(), Sql.strings(db, "SELECT tag FROM databasechangelog WHERE tag = 'incident-13'"));
        ok(Runner.on(db, "release-locks"));
        ok(Runner.on(db, "tag", "incident-13"));
        assertEquals(List.of("incident-13"), Sql.strings(db, "SELECT tag FROM databasechangelog WHERE tag = 'incident-13'"));
    }

    @Test
    void sigintMidUpdateCancelsReleasesTheLockListsWhatWasAppliedAndExits130() throws Exception {
        interruptedUpdate("INT", 130);
    }

    @Test
    void sigtermMidUpdateDoesTheSameAndExits143() throws Exception {
        interruptedUpdate("TERM", 143);
    }

    private static void interruptedUpdate(String signal, int exit) throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        ConnectionSpec reference = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
        OpsmvProcess.Result result;
        int runnerPid;
        long millis;
        try (Connection blocker = blocker(db)) {
            Running r = Running.start(db, "update", "--lock-timeout", "300s");
            runnerPid = waitUntilBlocked(db, r);
            long t0 = System.nanoTime();
            r.signal(signal);
            result = r.await(60);
            millis = (System.nanoTime() - t0) / 1_000_000;
            // The blocker still holds its lock: what ended the wait was the runner's cancel, not a timeout.
            assertTrue(Sql.rows(blocker, "SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'drivers'::regclass AND granted").size() == 1);
            assertFalse(locked(db), "the lock is released before the runner exits: " + result);
            blocker.rollback();
        }
        System.out.println("SIG" + signal + " mid-update -> exit " + result.exitCode() + " after " + millis + " ms\n" + result.stderr());
        assertEquals(exit, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains("opsmv: interrupted: cancelled the running statement of update (backend pid " + runnerPid + ")"), result.toString());
        List<String> history = Catalog.history(db);
        assertFalse(history.isEmpty());
        assertTrue(result.stderr().contains("opsmv: applied in this run: " + history.size() + " changeset(s):"), result.toString());
        for (String id : history) {
            assertTrue(result.stderr().contains("  " + id + "\n"), id + " listed: " + result);
        }
        // Nothing recorded for the index build that was cut short: history is a prefix of the full one.
        List<String> full = Catalog.history(reference);
        assertEquals(full.subList(0, history.size()), history);
        assertTrue(millis < 30_000, "stopped within seconds: " + millis + " ms");

        OpsmvProcess.Result next = ok(Runner.on(db, "update"));
        assertFalse(next.stderr().contains("released Liquibase's lock left by"), "nothing left to clear: " + next);
        assertEquals(full, Catalog.history(db));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db));
    }

    @Test
    void sigtermMidRollbackCancelsReleasesTheLockListsWhatWasUndoneAndExits143() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        List<String> full = Catalog.history(db);
        OpsmvProcess.Result result;
        int runnerPid;
        // v1.2's rollback alters ops.mv_refresh_log: a reader's open transaction makes it wait (changelog lock_timeout 5s).
        try (Connection reader = db.open("incident-reader"); Statement st = reader.createStatement()) {
            reader.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM ops.mv_refresh_log").close();
            Running r = Running.start(db, "rollback", "--tag", "opsmv-empty");
            runnerPid = waitUntilBlocked(db, r);
            r.signal("TERM");
            result = r.await(60);
            assertFalse(locked(db), "the lock is released before the runner exits: " + result);
            reader.rollback();
        }
        System.out.println("SIGTERM mid-rollback -> " + result);
        assertEquals(143, result.exitCode(), result.toString());
        assertTrue(result.stderr().contains("opsmv: interrupted: cancelled the running statement of rollback (backend pid " + runnerPid + ")"), result.toString());
        List<String> now = Catalog.history(db);
        List<String> undone = full.stream().filter(id -> !now.contains(id)).toList();
        assertFalse(undone.isEmpty(), "changesets after v1.2 were undone before the wait");
        assertTrue(result.stderr().contains("opsmv: undone in this run: " + undone.size() + " changeset(s):"), result.toString());
        for (String id : undone) {
            assertTrue(result.stderr().contains("  " + id + "\n"), id + " listed: " + result);
        }
        assertEquals(full.subList(0, now.size()), now, "the changeset whose rollback was cut short is still recorded");

        ok(Runner.on(db, "rollback", "--tag", "opsmv-empty"));
        assertEquals(List.of("opsmv-empty"), Sql.strings(db, "SELECT tag FROM databasechangelog WHERE tag IS NOT NULL"));
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));
    }

    @Test
    void aTerminatedBackendMidUpdateEndsWithOneClearLineAndTheNextUpdateCompletes() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        ConnectionSpec reference = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
        OpsmvProcess.Result result;
        try (Connection blocker = blocker(db)) {
            Running r = Running.start(db, "update", "--lock-timeout", "300s");
            int runnerPid = waitUntilBlocked(db, r);
            assertEquals(Boolean.TRUE, Sql.value(db, "SELECT pg_terminate_backend(" + runnerPid + ")"));
            result = r.await(60);
            blocker.rollback();
        }
        System.out.println("backend terminated mid-update -> " + result);
        assertEquals(ExitCode.DATABASE, result.exitCode(), result.toString());
        List<String> errorLines = result.stderr().lines().filter(l -> l.startsWith("opsmv: ")).toList();
        assertEquals(1, errorLines.size(), result.toString());
        assertTrue(errorLines.get(0).contains("the database ended the runner's session") && errorLines.get(0).contains("run the command again"),
                result.toString());
        List<String> history = Catalog.history(db);
        List<String> full = Catalog.history(reference);
        assertEquals(full.subList(0, history.size()), history, "no row for the changeset that was cut short");
        assertTrue(history.size() < full.size());

        OpsmvProcess.Result next = ok(Runner.on(db, "update"));
        assertTrue(next.stderr().contains("released Liquibase's lock left by opsmv@"), next.toString());
        assertEquals(full, Catalog.history(db));
        assertEquals(Catalog.snapshot(reference), Catalog.snapshot(db));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
