package dev.opsmv.db;

import java.sql.SQLException;

/** A failed connection attempt whose message is already {@link ConnectError}'s one line (SQLSTATE kept). */
public final class ConnectFailure extends SQLException {
    ConnectFailure(String line, SQLException cause) {
        super(line, cause.getSQLState(), cause.getErrorCode(), cause);
    }
}
