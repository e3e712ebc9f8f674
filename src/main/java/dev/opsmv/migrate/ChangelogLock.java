package dev.opsmv.migrate;

import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.opsmv.db.ClientCheck;
import dev.opsmv.db.Session;

/**
 * Liquibase's lock row (DATABASECHANGELOGLOCK) as the runner takes it: the row names the runner
 * ({@code opsmv@host pid N}, N its backend pid) and the runner's session holds an advisory lock
 * (classid hashtext('opsmv.liquibase'), objid hashtext(lock table)) for as long as it holds the row.
 * PostgreSQL drops a session's advisory locks when the session ends, however it ends, so a row
 * that names an opsmv runner whose backend no longer holds the advisory lock was left by a runner
 * that died: the next runner may clear it. A row written by anyone else (the stock CLI, the Maven
 * plugin, an application: LOCKEDBY is their host name) proves nothing and is never touched.
 */
public final class ChangelogLock {
    /** Who holds the row and whether that holder can be shown to be gone. */
    public record Holder(String lockedBy, String grantedAt, long heldSeconds, Integer runnerPid, boolean alive) {
        /** An opsmv runner's row whose session has ended: safe to clear. */
        public boolean dead() {
            return runnerPid != null && !alive;
        }

        /** "opsmv@ci-7 pid 4242 since 2026-12-01 23:40:02 (12 s), session alive". */
        public String describe() {
            String who = lockedBy + " since " + grantedAt + " (" + heldSeconds + " s)";
            if (runnerPid == null) {
                return who + ", not an opsmv runner (its liveness cannot be checked)";
            }
            return who + (alive ? ", an opsmv runner whose session is alive" : ", an opsmv runner whose session has ended");
        }
    }

    private static final Pattern RUNNER = Pattern.compile("^opsmv@\\S* pid (\\d+)$");
    private static final String KEY = "hashtext('opsmv.liquibase'), hashtext(lower(?))";

    private final Connection connection;
    private final String table;

    public ChangelogLock(Connection connection, String table) {
        this.connection = connection;
        this.table = table.toLowerCase(Locale.ROOT);
    }

    /** The bundle's lock table. */
    public static ChangelogLock bundle(Connection connection) {
        return new ChangelogLock(connection, "databasechangeloglock");
    }

    /** What this runner writes into LOCKEDBY: recognisable, and naming the session that proves it alive. */
    static String runnerName(int backendPid) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "unknown-host";
        }
        host = host.replaceAll("\\s+", "");
        return "opsmv@" + host + " pid " + backendPid;
    }

    /** The holder of the row, if it is held (plain SQL: nothing is created). */
    public Optional<Holder> holder() throws SQLException {
        if (!tableExists()) {
            return Optional.empty();
        }
        String sql = "SELECT coalesce(lockedby, '?'), to_char(lockgranted, 'YYYY-MM-DD HH24:MI:SS'), "
                + "coalesce(extract(epoch FROM localtimestamp - lockgranted)::bigint, 0) FROM " + table
                + " WHERE locked ORDER BY id LIMIT 1";
        String lockedBy;
        String granted;
        long seconds;
        try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            lockedBy = rs.getString(1);
            granted = rs.getString(2);
            seconds = rs.getLong(3);
        }
        Matcher m = RUNNER.matcher(lockedBy);
        if (!m.matches()) {
            return Optional.of(new Holder(lockedBy, granted, seconds, null, true));
        }
        int pid = Integer.parseInt(m.group(1));
        return Optional.of(new Holder(lockedBy, granted, seconds, pid, holdsAdvisoryLock(pid)));
    }

    /**
     * Clears the row when an opsmv runner that has died holds it, telling {@code notice} whose lock it
     * was; returns the holder that remains (a live runner or another client), if any.
     */
    public Optional<Holder> clearIfHolderDead(Consumer<String> notice) throws SQLException {
        Optional<Holder> holder = holder();
        if (holder.isEmpty() || !holder.get().dead()) {
            return holder;
        }
        Holder h = holder.get();
        // Only that row as it was read: a runner that took the lock meanwhile keeps it.
        try (PreparedStatement ps = connection.prepareStatement("UPDATE " + table
                + " SET locked = false, lockedby = NULL, lockgranted = NULL WHERE locked AND lockedby = ?")) {
            ps.setString(1, h.lockedBy());
            if (ps.executeUpdate() == 0) {
                return holder();
            }
        }
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
        notice.accept("opsmv: released Liquibase's lock left by " + h.lockedBy() + " (held since " + h.grantedAt()
                + "): that runner's session has ended");
        return Optional.empty();
    }

    /** Fails with {@link LockHeld} naming the holder, unless the lock is free or was left by a dead runner (then cleared). */
    public void requireFree(Consumer<String> notice) throws SQLException, LockHeld {
        Optional<Holder> left = clearIfHolderDead(notice);
        if (left.isPresent()) {
            throw LockHeld.by(left.get());
        }
    }

    /**
     * Takes the row for this session: the advisory lock first, then the row, in one committed
     * transaction, so there is no moment at which the row is held under a name that proves nothing.
     * Throws {@link LockHeld} when another runner or client holds it.
     */
    void take(Consumer<String> notice) throws SQLException, LockHeld {
        requireFree(notice);
        if (!tryAdvisoryLock()) {
            // another runner between taking its advisory lock and writing the row
            throw new LockHeld("Liquibase's lock is being taken by another opsmv runner (advisory lock held); run again when it is done");
        }
        int pid;
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_backend_pid()"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            pid = rs.getInt(1);
        }
        // A runner killed in the middle of a long statement leaves a backend that holds the advisory lock
        // until the statement ends; this makes it notice the lost client within a second.
        ClientCheck.endWithThisClient(connection, Duration.ofSeconds(1));
        int rows;
        try (PreparedStatement ps = connection.prepareStatement("UPDATE " + table
                + " SET locked = true, lockedby = ?, lockgranted = localtimestamp WHERE id = 1 AND NOT locked")) {
            ps.setString(1, runnerName(pid));
            rows = ps.executeUpdate();
        }
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
        if (rows != 1) {
            releaseAdvisoryLock();
            Optional<Holder> now = holder();
            throw now.isPresent() ? LockHeld.by(now.get())
                    : new LockHeld("Liquibase's lock could not be taken (no row 1 in " + table + "); run again");
        }
    }

    /** Drops this session's advisory lock (the row is Liquibase's to clear). */
    void releaseAdvisoryLock() {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_unlock(" + KEY + ")")) {
            ps.setString(1, table);
            ps.executeQuery().close();
            if (!connection.getAutoCommit()) {
                connection.commit();
            }
        } catch (SQLException e) {
            // a dead session has no lock left to drop
        }
    }

    private boolean tryAdvisoryLock() throws SQLException {
        return Session.isTrue(connection, "SELECT pg_try_advisory_lock(" + KEY + ")", table);
    }

    /** Whether backend {@code pid} of this database holds the runner's advisory lock (pid reuse cannot fool this). */
    private boolean holdsAdvisoryLock(int pid) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_locks l "
                + "WHERE l.locktype = 'advisory' AND l.granted AND l.pid = ? AND l.objsubid = 2 "
                + "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                + "AND (l.classid, l.objid) = (SELECT hashtext('opsmv.liquibase')::oid, hashtext(lower(?))::oid))")) {
            ps.setInt(1, pid);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private boolean tableExists() throws SQLException {
        return Session.isTrue(connection, "SELECT to_regclass(?) IS NOT NULL", table);
    }
}
