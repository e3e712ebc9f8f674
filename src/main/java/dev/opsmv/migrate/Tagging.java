package dev.opsmv.migrate;

import java.sql.Connection;
import java.util.regex.Pattern;

/**
 * `tag`: Liquibase's tag, behind the rules that keep a rollback target from being lost. Liquibase
 * tags the last applied row by overwriting its TAG column, so tagging a row that already carries a
 * tag would silently delete that tag; and an empty history has no row to carry one.
 */
public final class Tagging {
    /** A tag that cannot be set (a usage error: the database is left as it was). */
    public static final class Refused extends IllegalArgumentException {
        Refused(String message) {
            super(message);
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,255}");

    private Tagging() {
    }

    /** The name alone, checked before any connection is opened. */
    public static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new Refused("tag name must be 1-255 letters, digits, '.', '_' or '-' (got '" + name + "')");
        }
    }

    /** Tags the current state of the bundle on {@code c}; {@code where} names the database in messages. */
    public static void tag(Connection c, String name, String where) throws Exception {
        checkName(name);
        History history = new History(c);
        if (history.appliedCount() == 0) {
            throw new Refused("nothing to tag: no changeset has been applied to " + where);
        }
        if (history.tags().contains(name)) {
            throw new Refused("tag '" + name + "' already exists; choose another name");
        }
        var existing = history.tagOfLastChangeSet();
        if (existing.isPresent()) {
            throw new Refused("the current state already carries tag '" + existing.get()
                    + "'; tagging it again would replace that tag; use 'rollback --tag " + existing.get() + "'");
        }
        Migrator.bundle(c, null).tag(name);
    }
}
