package dev.opsmv.db;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a failure is, read from its cause chain: Liquibase and HikariCP wrap the driver's
 * SQLException, and Liquibase names the failed changeset only in an outer message. The one
 * cause-chain walk of the runner (connection errors, the update's lock-timeout report, one-line errors).
 */
public final class Causes {
    private static final Pattern CHANGESET = Pattern.compile("changeset (\\S+?::\\S+?::[^\\s:]+)");

    private Causes() {
    }

    /** The first throwable of the chain that is a {@code type}, or null. */
    public static <T extends Throwable> T find(Throwable ex, Class<T> type) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /** The last throwable of the chain. */
    public static Throwable root(Throwable ex) {
        Throwable t = ex;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    /** "path::id::author" of the changeset a message of the chain names, or null. */
    public static String failedChangeSet(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null) {
                Matcher m = CHANGESET.matcher(t.getMessage());
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        return null;
    }

    /** The first line of the server's message, without "ERROR: ": what a one-line report quotes of PostgreSQL. */
    public static String firstLine(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceFirst("^ERROR: ", "").lines().findFirst().orElse("");
    }

    /** PostgreSQL gave up waiting for a lock (SQLSTATE 55P03, lock_not_available). */
    public static boolean isLockTimeout(Throwable ex) {
        SQLException sql = find(ex, SQLException.class);
        return sql != null && "55P03".equals(sql.getSQLState());
    }
}
