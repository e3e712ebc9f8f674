package dev.opsmv.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Where a connection landed in a streaming-replication setup: the primary, or a standby and how far
 * its replay is behind. Materialized views replicate through WAL like tables, so a standby's data is
 * the primary's as of the last replayed transaction.
 *
 * <p>The lag is {@code now() - pg_last_xact_replay_timestamp()} only while the standby has received
 * WAL it has not replayed (or replay is paused with something left to replay): on an idle primary no
 * new WAL arrives, the last replayed commit gets old while nothing is missing, and the lag is 0.
 */
public final class Replication {
    /**
     * Three columns (in_recovery, replay_paused, replay_lag_seconds) for any query's select list; the
     * CASE keeps the recovery functions, which raise an error on a primary, from running there.
     */
    public static final String COLUMNS = """
            pg_is_in_recovery() AS in_recovery,
            CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS replay_paused,
            (CASE WHEN NOT pg_is_in_recovery() THEN 0
                  WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0
                  ELSE greatest(0, coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0))
             END)::float8 AS replay_lag_seconds""";

    private Replication() {
    }

    /** On a primary: not in recovery, lag 0. */
    public record State(boolean inRecovery, boolean replayPaused, double replayLagSeconds) {
        public static final State PRIMARY = new State(false, false, 0);

        /** From a result set that selected {@link #COLUMNS}. */
        public static State from(ResultSet rs) throws SQLException {
            return new State(rs.getBoolean("in_recovery"), rs.getBoolean("replay_paused"),
                    Math.round(rs.getDouble("replay_lag_seconds") * 1000) / 1000.0);
        }
    }

    public static State read(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT " + COLUMNS)) {
            rs.next();
            return State.from(rs);
        }
    }

    /** The one line a write command prints when its connection landed on a standby. */
    public static String standbyRefusal(String target, String command) {
        return target + " is a standby (in recovery): " + command + " runs on the primary; point --url at the primary";
    }
}
