package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import dev.opsmv.db.Session;

/**
 * Reads Liquibase's history and lock tables directly (plain SQL, read-only): asking Liquibase
 * would create them when missing, and a `status` must change nothing.
 */
public final class History {
    /** Liquibase's lock row, when it is held. */
    public record Lock(String lockedBy, String grantedAt, long heldSeconds) {
    }

    private final Connection connection;

    public History(Connection connection) {
        this.connection = connection;
    }

    public boolean exists() throws SQLException {
        return relationExists("databasechangelog");
    }

    /** Tags in execution order. */
    public List<String> tags() throws SQLException {
        List<String> out = new ArrayList<>();
        if (!exists()) {
            return out;
        }
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT tag FROM databasechangelog WHERE tag IS NOT NULL ORDER BY orderexecuted")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    public Optional<String> lastTag() throws SQLException {
        List<String> tags = tags();
        return tags.isEmpty() ? Optional.empty() : Optional.of(tags.get(tags.size() - 1));
    }

    /** The tag on the most recently executed changeset, if it has one (tagging again would replace it). */
    public Optional<String> tagOfLastChangeSet() throws SQLException {
        if (!exists()) {
            return Optional.empty();
        }
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT tag FROM databasechangelog ORDER BY dateexecuted DESC, orderexecuted DESC LIMIT 1")) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
    }

    public long appliedCount() throws SQLException {
        if (!exists()) {
            return 0;
        }
        return Session.number(connection, 0, "SELECT count(*) FROM databasechangelog");
    }

    /**
     * Liquibase's lock, if held. LOCKGRANTED is a timestamp without time zone written with the
     * writer's local time; the driver sets the session time zone to ours, so localtimestamp compares.
     */
    public Optional<Lock> lock() throws SQLException {
        if (!relationExists("databasechangeloglock")) {
            return Optional.empty();
        }
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(lockedby, '?'), to_char(lockgranted, 'YYYY-MM-DD HH24:MI:SS'), "
                     + "coalesce(extract(epoch FROM localtimestamp - lockgranted)::bigint, 0) "
                     + "FROM databasechangeloglock WHERE locked ORDER BY id LIMIT 1")) {
            return rs.next() ? Optional.of(new Lock(rs.getString(1), rs.getString(2), rs.getLong(3))) : Optional.empty();
        }
    }

    private boolean relationExists(String name) throws SQLException {
        return Session.isTrue(connection, "SELECT to_regclass(?) IS NOT NULL", name);
    }
}
