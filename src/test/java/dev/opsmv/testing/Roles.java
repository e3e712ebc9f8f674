package dev.opsmv.testing;

import java.sql.Connection;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.migrate.Migrator;

/** The roles tests connect as: an optional role changelog applied, and a login of the test's own granted what it needs. */
public final class Roles {
    private Roles() {
    }

    /** Applies one of the bundle's optional role changelogs (Changelog.REFRESHER_ROLE, Changelog.READER_ROLE) to {@code db}. */
    public static void apply(ConnectionSpec db, String changelog) throws Exception {
        try (Connection c = db.open()) {
            Migrator.changelog(c, changelog, null).update();
        }
    }

    /**
     * A login role of this test's own on {@code db} (opsmv_t_WHAT_PID_DATABASE: unique across the test JVMs sharing a
     * server), granted each of {@code grants} ("opsmv_reader", or a privilege such as "SELECT ON ops.mv_refresh_log"),
     * and the spec to connect as it; its name is the spec's {@code user()}.
     */
    public static ConnectionSpec login(ConnectionSpec db, String what, String... grants) {
        String login = "opsmv_t_" + what + "_" + ProcessHandle.current().pid() + "_" + db.database();
        String[] statements = new String[grants.length + 1];
        statements[0] = "CREATE ROLE " + login + " LOGIN";
        for (int i = 0; i < grants.length; i++) {
            statements[i + 1] = "GRANT " + grants[i] + " TO " + login;
        }
        Sql.exec(db, statements);
        return ConnectionSpec.of(db.host(), db.port(), db.database(), login, null);
    }
}
