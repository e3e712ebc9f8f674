package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import dev.opsmv.db.BlockerWatch;
import dev.opsmv.db.ConnectionSpec;

/**
 * Ctrl-C or SIGTERM while Liquibase changes the database. The JVM runs shutdown hooks on both and
 * then exits 130 / 143 by itself; this hook uses that time to stop cleanly: it cancels the runner's
 * statement from a second connection (pg_cancel_backend, as {@link BlockerWatch} does for lock
 * waits) until Liquibase has unwound — which records nothing for the cancelled changeset and
 * releases its lock — makes sure the lock row is not left under the runner's name, and prints which
 * changesets this run applied (or undid). A CREATE INDEX CONCURRENTLY cut short leaves an INVALID
 * index, named here; the next update drops and rebuilds it.
 */
public final class Interruption implements AutoCloseable {
    /** How long the hook waits for Liquibase to unwind before it clears the lock itself. */
    private static final long UNWIND_MILLIS = 20_000;

    private final Connection watcher;
    private final int runnerPid;
    private final String verb;
    private final Consumer<String> err;
    private final Set<String> before;
    private final CountDownLatch unwound = new CountDownLatch(1);
    private final Thread hook;

    private Interruption(Connection watcher, int runnerPid, String verb, Consumer<String> err) throws SQLException {
        this.watcher = watcher;
        this.runnerPid = runnerPid;
        this.verb = verb;
        this.err = err;
        this.before = applied();
        this.hook = new Thread(this::stop, "opsmv-interrupt");
    }

    /** Guards one {@code verb} ("update", "rollback") running on {@code runner}; close it when Liquibase returns. */
    public static Interruption guard(ConnectionSpec spec, Connection runner, String verb) throws SQLException {
        return guard(spec, runner, verb, System.err::println);
    }

    static Interruption guard(ConnectionSpec spec, Connection runner, String verb, Consumer<String> err) throws SQLException {
        int pid = BlockerWatch.backendPid(runner);
        Connection watcher = spec.open("opsmv-interrupt-watch");
        watcher.setAutoCommit(true);
        Interruption i = new Interruption(watcher, pid, verb, err);
        Runtime.getRuntime().addShutdownHook(i.hook);
        return i;
    }

    private void stop() {
        try {
            long deadline = System.currentTimeMillis() + UNWIND_MILLIS;
            boolean cancelled = false;
            // Liquibase goes on with the next changeset when a cancel lands between two statements:
            // cancel whatever the runner runs until it has unwound, except its release of the lock.
            do {
                if (runsChangeset()) {
                    cancelled |= cancel();
                }
            } while (!unwound.await(200, TimeUnit.MILLISECONDS) && System.currentTimeMillis() < deadline);
            boolean released = releaseIfOurs();
            List<String> lines = new ArrayList<>();
            lines.add("opsmv: interrupted: " + (cancelled ? "cancelled the running statement of " + verb : verb + " stopped")
                    + " (backend pid " + runnerPid + "); Liquibase's lock released" + (released ? " (by this hook: " + verb + " had not)" : ""));
            Set<String> after = applied();
            List<String> changed = new ArrayList<>();
            if ("rollback".equals(verb)) {
                before.stream().filter(id -> !after.contains(id)).forEach(changed::add);
                lines.add("opsmv: undone in this run: " + changed.size() + " changeset(s)" + (changed.isEmpty() ? "" : ":"));
            } else {
                after.stream().filter(id -> !before.contains(id)).forEach(changed::add);
                lines.add("opsmv: applied in this run: " + changed.size() + " changeset(s)" + (changed.isEmpty() ? "" : ":"));
            }
            changed.forEach(id -> lines.add("  " + id));
            List<String> invalid = invalidIndexes();
            if (!invalid.isEmpty()) {
                lines.add("opsmv: INVALID index(es) left by the cancelled build: " + String.join(", ", invalid)
                        + " (the next 'opsmv update' drops and rebuilds them)");
            }
            lines.add("opsmv: nothing is recorded for the changeset that was cut short; run '" + ("rollback".equals(verb)
                    ? "opsmv rollback" : "opsmv update") + "' again to finish");
            lines.forEach(err);
        } catch (Exception e) {
            err.accept("opsmv: interrupted; the cleanup failed: " + e.getMessage()
                    + " (the next run clears a lock left by this one)");
        } finally {
            try {
                watcher.close();
            } catch (SQLException ignored) {
                // the process is ending
            }
        }
    }

    private boolean runsChangeset() throws SQLException {
        try (PreparedStatement ps = watcher.prepareStatement("SELECT state = 'active' AND query NOT ILIKE '%databasechangeloglock%' "
                + "FROM pg_stat_activity WHERE pid = ?")) {
            ps.setInt(1, runnerPid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private boolean cancel() throws SQLException {
        try (PreparedStatement ps = watcher.prepareStatement("SELECT pg_cancel_backend(?)")) {
            ps.setInt(1, runnerPid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** Clears the row only if it still names this runner (Liquibase normally released it while unwinding). */
    private boolean releaseIfOurs() throws SQLException {
        try (PreparedStatement ps = watcher.prepareStatement("UPDATE databasechangeloglock SET locked = false, lockedby = NULL, "
                + "lockgranted = NULL WHERE locked AND lockedby = ?")) {
            ps.setString(1, ChangelogLock.runnerName(runnerPid));
            return ps.executeUpdate() > 0;
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    private Set<String> applied() throws SQLException {
        Set<String> out = new LinkedHashSet<>();
        try (Statement st = watcher.createStatement();
             ResultSet exists = st.executeQuery("SELECT to_regclass('databasechangelog') IS NOT NULL")) {
            exists.next();
            if (!exists.getBoolean(1)) {
                return out;
            }
        }
        try (Statement st = watcher.createStatement();
             ResultSet rs = st.executeQuery("SELECT filename || '::' || id || '::' || author FROM databasechangelog ORDER BY orderexecuted, dateexecuted")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private List<String> invalidIndexes() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = watcher.createStatement();
             ResultSet rs = st.executeQuery("SELECT i.indexrelid::regclass::text FROM pg_index i WHERE NOT i.indisvalid ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Liquibase has returned (or thrown): the hook may report; outside a shutdown, the hook goes away. */
    @Override
    public void close() {
        unwound.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it closes the watcher when it has reported
            return;
        }
        try {
            watcher.close();
        } catch (SQLException ignored) {
            // disposable
        }
    }
}
