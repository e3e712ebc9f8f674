package dev.opsmv.refresh;

import static dev.opsmv.refresh.RefreshFixtures.process;
import static dev.opsmv.refresh.RefreshFixtures.withUrl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.cli.ExitCode;
import dev.opsmv.cli.Main;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.Cli;

/** Runners as separate processes: busy, --wait, SIGKILL, readers during the two kinds of refresh, --every + SIGTERM. */
@Tag("matrix")
class RefreshRunnersTest {
    private static final String SLOW = "ops.mv_zz_slow";
    /** The refresh readers read across: a reader (one query per 10 ms) sees its whole length either way. */
    private static final double SLOW_READ_SECONDS = 1.5;

    private static long running(ConnectionSpec db) {
        return Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING' AND mv_name = 'mv_zz_slow'");
    }

    private static void awaitRunning(ConnectionSpec db, Process p) throws InterruptedException {
        await(p, "its RUNNING row appeared", "no RUNNING row", () -> running(db) > 0);
    }

    /** Waits until the runner's refresh is inside the slow MV's pg_sleep. */
    private static void awaitSleeping(ConnectionSpec db, Process p) throws InterruptedException {
        await(p, "its refresh slept", "no refresh in pg_sleep", () -> Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND application_name = '" + RefreshEngine.APPLICATION_NAME + "' AND wait_event = 'PgSleep'") > 0);
    }

    /** Polls {@code reached} for up to 60 s, failing at once when the runner {@code p} exits first. */
    private static void await(Process p, String event, String missing, java.util.function.BooleanSupplier reached) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!reached.getAsBoolean()) {
            assertTrue(p.isAlive(), () -> "runner exited before " + event + ": " + drain(p));
            assertTrue(System.nanoTime() < deadline, missing + " after 60 s");
            Thread.sleep(20);
        }
    }

    /** Output of the runner processes, read as it comes (a full pipe would block the runner). */
    private static final Map<Process, StringBuffer> OUTPUT = new java.util.concurrent.ConcurrentHashMap<>();

    private static Process start(ConnectionSpec db, String... args) throws IOException {
        Process p = process(db).start(withUrl(db, args));
        StringBuffer buf = new StringBuffer();
        OUTPUT.put(p, buf);
        for (java.io.InputStream in : List.of(p.getInputStream(), p.getErrorStream())) {
            Thread t = new Thread(() -> {
                try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        buf.append(line).append('\n');
                    }
                } catch (IOException ignored) {
                    // process gone
                }
            });
            t.setDaemon(true);
            t.start();
        }
        return p;
    }

    private static String drain(Process p) {
        try {
            p.waitFor(5, TimeUnit.SECONDS);
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return String.valueOf(OUTPUT.get(p));
    }

    /** Watches that there is never more than one RUNNING row for the slow MV. */
    private static final class RunningWatch implements AutoCloseable {
        final AtomicLong max = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;

        RunningWatch(ConnectionSpec db) {
            thread = new Thread(() -> {
                try (Connection c = db.open("opsmv-tests-watch"); Statement st = c.createStatement()) {
                    while (!stop.get()) {
                        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'RUNNING' AND mv_name = 'mv_zz_slow'")) {
                            rs.next();
                            max.accumulateAndGet(rs.getLong(1), Math::max);
                        }
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    max.set(-1);
                }
            });
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }

    @Test
    void twoRunnersOnOneMvOneRefreshesTheOtherIsBusyOrWaits() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        RefreshFixtures.createSlowMv(db, 0);
        // each first runner's refresh is held until the second has met it, however long that takes on a loaded machine
        RefreshFixtures.hold(db, true);
        try (RunningWatch watch = new RunningWatch(db)) {
            Process a = start(db, "refresh", "mv_zz_slow");
            awaitRunning(db, a);
            Cli.Result b = Cli.on(db, "refresh", "mv_zz_slow");
            assertEquals(ExitCode.BUSY, b.exitCode(), b.all());
            assertTrue(b.out().contains("busy"), b.out());
            RefreshFixtures.hold(db, false);
            assertTrue(a.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, a.exitValue(), () -> drain(a));

            // --wait: the second runner waits for the first and then refreshes.
            RefreshFixtures.hold(db, true);
            Process c = start(db, "refresh", "mv_zz_slow");
            awaitRunning(db, c);
            awaitSleeping(db, c);
            StringWriter dOut = new StringWriter();
            StringWriter dErr = new StringWriter();
            CompletableFuture<Integer> d = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(dOut, true), new PrintWriter(dErr, true),
                    withUrlInProcess(db, "refresh", "mv_zz_slow", "--wait", "60s")));
            // c is let go only once d has found the lock taken and said it waits
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(dOut + "" + dErr).contains("waiting up to")) {
                assertTrue(!d.isDone() && c.isAlive(), () -> "d ended or c exited before d waited: " + dOut + dErr + drain(c));
                assertTrue(System.nanoTime() < deadline, "d did not wait for c's lock in 60 s: " + dOut + dErr);
                Thread.sleep(20);
            }
            RefreshFixtures.hold(db, false);
            int dExit = d.get(60, TimeUnit.SECONDS);
            System.out.printf("opsmv refresh mv_zz_slow --wait 60s (in-process) -> exit %d%n%s%s", dExit, dOut, dErr);
            assertEquals(ExitCode.OK, dExit, dOut + "" + dErr);
            assertTrue(c.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, c.exitValue(), () -> drain(c));
            watch.close();
            assertEquals(1, watch.max.get(), "at most one RUNNING row at any time (and the watch saw one)");
        }
        List<String> statuses = Sql.strings(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' ORDER BY refresh_id");
        assertEquals(List.of("OK", "BUSY", "OK", "OK"), statuses);
    }

    private static String[] withUrlInProcess(ConnectionSpec db, String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--url";
        all[args.length + 1] = Cli.url(db);
        return all;
    }

    @Test
    void aRunnerKilledMidRefreshIsMarkedAbandonedByTheNextRun() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        // held until the test has seen its orphaned backend still refreshing; let go, it ends, which the test waits for
        RefreshFixtures.createSlowMv(db, 0);
        RefreshFixtures.hold(db, true);
        Process a = start(db, "refresh", "mv_zz_slow");
        awaitRunning(db, a);
        Map<String, Object> row = Sql.rows(db, "SELECT refresh_id, backend_pid FROM ops.mv_refresh_log WHERE status = 'RUNNING'").get(0);
        a.destroyForcibly();
        assertTrue(a.waitFor(30, TimeUnit.SECONDS));
        int pid = ((Number) row.get("backend_pid")).intValue();

        // Straight after the kill its backend may still run the REFRESH and hold the lock: then the MV is
        // busy, and the row is not abandoned yet.
        Cli.Result early = Cli.on(db, "refresh", "mv_zz_slow", "--wait", "1s");
        boolean backendWasAlive = early.exitCode() == ExitCode.BUSY;
        if (backendWasAlive) {
            assertEquals("RUNNING", Sql.value(db, "SELECT status FROM ops.mv_refresh_log WHERE refresh_id = " + row.get("refresh_id")));
        }
        RefreshFixtures.hold(db, false);
        long t0 = System.nanoTime();
        while (Sql.count(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) > 0) {
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60), "backend " + pid + " of the killed runner lives on");
            Thread.sleep(100);
        }
        System.out.println("[measure] killed runner's backend went away " + (System.nanoTime() - t0) / 1_000_000
                + " ms after the first check (busy straight after the kill: " + backendWasAlive + ")");

        Cli.Result next = backendWasAlive ? Cli.on(db, "refresh", "mv_zz_slow") : early;
        assertEquals(ExitCode.OK, next.exitCode(), next.all());
        Map<String, Object> old = Sql.rows(db, "SELECT status, error_message, refresh_finished_at FROM ops.mv_refresh_log WHERE refresh_id = "
                + row.get("refresh_id")).get(0);
        assertEquals("ABANDONED", old.get("status"));
        assertTrue(old.get("error_message").toString().startsWith("runner died"), old.toString());
        assertTrue(old.get("refresh_finished_at") != null);
        assertEquals("OK", Sql.value(db, "SELECT status FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status NOT IN ('BUSY') ORDER BY refresh_id DESC LIMIT 1"));
        assertEquals(0, running(db));
    }

    @Test
    void readersDoNotWaitDuringConcurrentlyAndWaitDuringPlain() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        RefreshFixtures.createSlowMv(db, SLOW_READ_SECONDS);
        long[] concurrent = readDuring(db, "always");
        long[] plain = readDuring(db, "never");
        System.out.printf("[measure] readers of %s: worst latency %d ms during REFRESH CONCURRENTLY (%d reads), %d ms during plain REFRESH (%d reads); refresh sleeps %.0f ms%n",
                SLOW, concurrent[0], concurrent[1], plain[0], plain[1], SLOW_READ_SECONDS * 1000);
        assertEquals(2, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status = 'OK'"));
    }

    /** Runs the refresh in-process while a reader loops; returns {worst latency ms, reads}; fails on any reader error. */
    private static long[] readDuring(ConnectionSpec db, String concurrently) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong worst = new AtomicLong();
        AtomicInteger reads = new AtomicInteger();
        AtomicReference<Exception> error = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (Connection c = db.open("opsmv-tests-reader"); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    long t = System.nanoTime();
                    try (ResultSet rs = st.executeQuery("SELECT count(*), sum(v) FROM " + SLOW)) {
                        rs.next();
                        if (rs.getLong(1) != 2000) {
                            throw new IllegalStateException("reader saw " + rs.getLong(1) + " rows");
                        }
                    }
                    worst.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                    reads.incrementAndGet();
                    Thread.sleep(10);
                }
            } catch (Exception e) {
                error.set(e);
            }
        });
        reader.start();
        Thread.sleep(200);
        Cli.Result r = Cli.on(db, "refresh", "mv_zz_slow", "--concurrently", concurrently);
        stop.set(true);
        reader.join();
        assertEquals(ExitCode.OK, r.exitCode(), r.all());
        if (error.get() != null) {
            throw new AssertionError("reader failed during --concurrently " + concurrently, error.get());
        }
        return new long[] {worst.get(), reads.get()};
    }

    @Test
    // "once": the loop and the signal are the runner's JVM's; each refresh in it is the one tested above on every major
    @Tag("once")
    void everyRunsRepeatedlyAndStopsCleanlyOnSigterm() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        RefreshFixtures.createSlowMv(db, 1);
        Process p = start(db, "refresh", "mv_zz_slow", "--every", "2s");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status = 'OK'") < 2) {
            assertTrue(p.isAlive(), () -> drain(p));
            assertTrue(System.nanoTime() < deadline, "fewer than two runs in 60 s");
            Thread.sleep(100);
        }
        // SIGTERM, preferably mid-refresh: the refresh in progress finishes and is logged.
        awaitRunning(db, p);
        // SIGTERM through the handle: Process.destroy() would also close our end of its stdout.
        assertTrue(p.toHandle().destroy());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "runner did not stop on SIGTERM");
        String output = drain(p);
        System.out.println(output);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("stopped"), output);
        assertEquals(0, running(db), "no RUNNING row left");
        assertTrue(Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_slow' AND status = 'OK'") >= 3);
    }
}
