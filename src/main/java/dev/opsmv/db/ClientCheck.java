package dev.opsmv.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A session that ends with the runner that opened it. PostgreSQL 14+ checks the client's connection every
 * {@code client_connection_check_interval} while a statement runs: if the runner was killed, its backend
 * cancels the statement (a REFRESH, an index build, a lock held for the changelog) within that interval
 * instead of running it to the end, holding its locks for nobody. Older servers notice when they next write
 * to the client. The setting is made with set_config, which exists on every server, so that an older one
 * raises no error (which would abort a transaction in progress).
 */
public final class ClientCheck {
    /** For the runner's work sessions: a killed runner's REFRESH or index build stops within two seconds. */
    public static final Duration INTERVAL = Duration.ofSeconds(2);

    private ClientCheck() {
    }

    public static void endWithThisClient(Connection session, Duration interval) throws SQLException {
        try (PreparedStatement ps = session.prepareStatement("SELECT CASE WHEN current_setting('server_version_num')::int >= 140000 "
                + "THEN set_config('client_connection_check_interval', ?, false) END")) {
            ps.setString(1, Long.toString(interval.toMillis()));
            ps.executeQuery().close();
        }
    }
}
