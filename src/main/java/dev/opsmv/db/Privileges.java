package dev.opsmv.db;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PostgreSQL's "permission denied" (42501) said as the grant that fixes it: the login of a read-only `serve` or
 * `health` lacking SELECT on the refresh log should read what to run, not a 500 with a raw message.
 */
public final class Privileges {
    // "permission denied for table mv_refresh_log" (15+), "for relation" (older), "for view", "for materialized view", "for schema ops"
    private static final Pattern DENIED = Pattern.compile("permission denied for (table|relation|view|materialized view|schema|sequence|function) (\"?[^\"\\s]+\"?)");

    private Privileges() {
    }

    /** The one line for a 42501 naming the grant to add; null for any other error. */
    public static String missingGrant(SQLException e, String login) {
        if (e == null || !"42501".equals(e.getSQLState()) || e.getMessage() == null) {
            return null;
        }
        Matcher m = DENIED.matcher(e.getMessage());
        if (!m.find()) {
            return null;
        }
        String kind = m.group(1);
        String name = m.group(2).replace("\"", "");
        String who = login == null ? "this login" : login;
        String grant = switch (kind) {
            case "schema" -> "GRANT USAGE ON SCHEMA " + name + " TO " + who;
            case "function" -> "GRANT EXECUTE ON FUNCTION " + qualified(name) + " TO " + who;
            default -> "GRANT SELECT ON " + qualified(name) + " TO " + who;
        };
        return "permission denied for " + kind + " " + name + ": run " + grant + " (or GRANT opsmv_reader TO " + who
                + " after changelog/optional/reader-role.yaml: docs/ROLES.md)";
    }

    /** The bundle's relations live in schema ops; a name PostgreSQL gave without its schema is one of them. */
    private static String qualified(String name) {
        return name.contains(".") ? name : "ops." + name;
    }
}
