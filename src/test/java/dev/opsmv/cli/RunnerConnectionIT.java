package dev.opsmv.cli;

import static dev.opsmv.cli.Runner.fails;
import static dev.opsmv.cli.Runner.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Required;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;
import dev.opsmv.testing.TestPostgres;

/**
 * Issue 3: the jar connects by URI, JDBC URL, DATABASE_URL or PG* variables; every bad input is one line and an exit code.
 * Issue 14: a JVM is started only where the process itself is under test; the rest runs in-process.
 */
class RunnerConnectionIT {
    static ConnectionSpec deployed;

    @BeforeAll
    static void deployedDatabase() {
        deployed = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
    }

    // A real process where argv, the environment or the jar's own exit status is what is tested;
    // in-process (Runner.inProcess: Main.run, what the jar's main calls) for everything else.

    @Test
    void updateWithALibpqUri() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        OpsmvProcess.Result r = ok(Runner.run("update", "--url", Cli.urlForArgv(db)));
        assertTrue(r.stdout().contains("last tag " + Releases.LAST), r.toString());
        assertEquals(Catalog.history(deployed), Catalog.history(db));
    }

    @Test
    void updateWithAJdbcUrl() {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        ok(Runner.inProcess("update", "--url", "jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.database() + "?user=" + db.user()));
        assertEquals(Catalog.history(deployed), Catalog.history(db));
    }

    @Test
    void updateWithOnlyDatabaseUrlSet() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        OpsmvProcess.Result r = OpsmvProcess.jar().env("DATABASE_URL", Cli.urlForArgv(db)).run(300, "update");
        ok(r);
        assertEquals(Catalog.history(deployed), Catalog.history(db));
    }

    @Test
    void statusWithOnlyLibpqVariables() throws Exception {
        OpsmvProcess.Result r = OpsmvProcess.jar().env("PGHOST", deployed.host()).env("PGPORT", Integer.toString(deployed.port()))
                .env("PGDATABASE", deployed.database()).env("PGUSER", deployed.user()).run(120, "status");
        ok(r);
        assertTrue(r.stdout().contains("pending:   0 changeset(s)"), r.toString());
        assertTrue(r.stdout().contains(deployed.user() + "@" + deployed.host() + ":" + deployed.port() + "/" + deployed.database()), r.toString());
    }

    @Test
    void unreachableHostIsExit3NamingTheHostOnEveryDatabaseCommand() {
        int port = Cli.deadPort();
        String url = "postgres://postgres@localhost:" + port + "/ops";
        for (List<String> command : List.of(List.of("update"), List.of("update-sql"), List.of("status"), List.of("release-locks"),
                List.of("tag", "t1"), List.of("rollback", "--count", "1"), List.of("rollback-sql", "--count", "1"),
                List.of("check-duplicates"), List.of("fixture", "--drivers", "10"), List.of("verify"), List.of("refresh", "--all"),
                List.of("schedule", "--pg-cron", "0 * * * *"))) {
            List<String> argv = new java.util.ArrayList<>(command);
            argv.addAll(List.of("--url", url));
            fails(Runner.inProcess(argv.toArray(String[]::new)), ExitCode.DATABASE,
                    "cannot connect to postgres@localhost:" + port + "/ops", "connection refused");
        }
        fails(Runner.inProcess("update", "--url", "postgres://postgres@no-such-host.invalid:5432/ops"), ExitCode.DATABASE,
                "unknown host 'no-such-host.invalid'");
    }

    @Test
    void missingDatabaseIsExit3NamingIt() {
        ConnectionSpec missing = deployed.withDatabase("opsmv_no_such_db");
        fails(Runner.inProcessOn(missing, "update"), ExitCode.DATABASE, "database 'opsmv_no_such_db' does not exist");
    }

    @Test
    void malformedUrlIsExit2AndHidesThePassword() throws Exception {
        OpsmvProcess.Result r = fails(Runner.inProcess("update", "--url", "postgres://deploy:Hunter2-secret@localhost:port/ops"),
                ExitCode.USAGE, "--url: malformed connection URL");
        assertFalse(r.all().contains("Hunter2-secret"), r.toString());
        fails(Runner.inProcess("status", "--url", "mysql://localhost/ops"), ExitCode.USAGE, "must start with postgres://");
        OpsmvProcess.Result env = fails(OpsmvProcess.jar().env("DATABASE_URL", "postgres://deploy:Hunter2-secret@h:70000/x").run(60, "status"),
                ExitCode.USAGE, "DATABASE_URL: malformed connection URL", "port");
        assertFalse(env.all().contains("Hunter2-secret"), env.toString());
    }

    @Test
    void unknownCommandOptionOrValueIsExit2() throws Exception {
        // once through the jar: the status the shell sees is the one Main.run returns
        fails(Runner.run("frobnicate"), ExitCode.USAGE, "'frobnicate'");
        fails(Runner.inProcess("update", "--frobnicate"), ExitCode.USAGE, "Unknown option: '--frobnicate'");
        fails(Runner.inProcess("update", "--password", "x"), ExitCode.USAGE, "'--password'");
        fails(Runner.inProcessOn(deployed, "update", "--lock-timeout", "5 seconds; DROP TABLE drivers"), ExitCode.USAGE,
                "Invalid value for option '--lock-timeout': '5 seconds; DROP TABLE drivers' is not a duration");
        fails(Runner.inProcess(), ExitCode.USAGE, "a command is required");
    }

    @Test
    void unknownTagsAndBadCountsAreExit2() {
        List<String> before = Catalog.history(deployed);
        fails(Runner.inProcessOn(deployed, "rollback", "--tag", "no-such-tag"), ExitCode.USAGE, "unknown tag 'no-such-tag'", "opsmv-empty");
        fails(Runner.inProcessOn(deployed, "rollback-sql", "--tag", "no-such-tag"), ExitCode.USAGE, "unknown tag 'no-such-tag'");
        fails(Runner.inProcessOn(deployed, "update", "--to-tag", "v9.9"), ExitCode.USAGE, "unknown tag 'v9.9'", "v1.0");
        fails(Runner.inProcessOn(deployed, "rollback", "--count", "-1"), ExitCode.USAGE, "--count must be 1 or more (got -1)");
        fails(Runner.inProcessOn(deployed, "rollback", "--count", "0"), ExitCode.USAGE, "--count must be 1 or more");
        fails(Runner.inProcessOn(deployed, "rollback-sql", "--count", "-3"), ExitCode.USAGE, "--count must be 1 or more");
        fails(Runner.inProcessOn(deployed, "rollback", "--count", "1", "--tag", "v1.0"), ExitCode.USAGE, "mutually exclusive");
        assertEquals(before, Catalog.history(deployed), "nothing was rolled back");
    }

    @Test
    void helpOnEveryCommandAndARealVersion() throws Exception {
        // the version comes from the jar's manifest: only the real jar has one
        OpsmvProcess.Result v = ok(Runner.run("--version"));
        // the build passes the versions it packaged (failsafe system properties): none is written here
        List<String> lines = v.stdout().lines().toList();
        String version = Required.property("opsmv.expected.version");
        assertEquals("opsmv " + version, lines.get(0), v.toString());
        assertEquals("Liquibase " + Required.property("opsmv.expected.liquibase"), lines.get(1), v.toString());
        assertEquals("PostgreSQL JDBC " + Required.property("opsmv.expected.pgjdbc"), lines.get(2), v.toString());
        assertTrue(lines.get(3).startsWith("Java " + System.getProperty("java.version") + " ("), v.toString());
        assertFalse(version.contains("SNAPSHOT"), "a release version: " + version);
        // the runner's version is the changelog's last release (v1.2 -> 1.2.x)
        assertTrue(version.startsWith(Releases.LAST.substring(1) + "."), version + " vs the changelog's " + Releases.LAST);
        for (String c : List.of("update", "update-sql", "status", "release-locks", "tag", "rollback", "rollback-sql",
                "check-duplicates", "health", "verify", "serve", "refresh", "schedule", "fixture", "demo", "bench")) {
            OpsmvProcess.Result h = ok(Runner.inProcess(c, "--help"));
            assertTrue(h.stdout().startsWith("Usage: opsmv " + c), h.toString());
        }
        assertTrue(ok(Runner.inProcess("--help")).stdout().contains("Exit codes"));
    }

    /**
     * A password-protected role: the embedded server trusts everyone, so this test puts a
     * scram-sha-256 line for one role at the top of the server's pg_hba.conf and reloads.
     */
    @Test
    void wrongPasswordIsExit3AndNoPasswordIsEverPrinted() throws Exception {
        Path hba = Path.of((String) Sql.value(TestPostgres.admin(), "SHOW hba_file"));
        // An existing server (OPSMV_TEST_JDBC_URL) is not ours to reconfigure; our embedded one must be.
        Assumptions.assumeTrue(TestPostgres.embedded(), "the wrong-password case needs the suite's own embedded server");
        Required.assumeOrFail(Files.isWritable(hba), "pg_hba.conf of the test server is not writable here (" + hba
                + "): the wrong-password case needs a server that asks for passwords");
        String role = "opsmv_pw_role";
        String good = "Corr3ct-Horse-Battery";
        String bad = "Wr0ng-Staple-Secret";
        ConnectionSpec admin = TestPostgres.admin();
        Sql.exec(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role + "') THEN CREATE ROLE " + role + " LOGIN; END IF; END $$",
                "ALTER ROLE " + role + " PASSWORD '" + good + "'");
        Sql.exec(deployed, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role);
        String content = Files.readString(hba);
        String line = "host all " + role + " all scram-sha-256\n";
        if (!content.contains(line)) {
            Files.writeString(hba, line + content);
        }
        Sql.exec(admin, "SELECT pg_reload_conf()");
        awaitPasswordRequired(deployed.host(), deployed.port(), role);

        String base = "postgres://" + role + "@" + deployed.host() + ":" + deployed.port() + "/" + deployed.database();
        String withBad = "postgres://" + role + ":" + bad + "@" + deployed.host() + ":" + deployed.port() + "/" + deployed.database();

        OpsmvProcess.Result viaUri = fails(Runner.run("status", "--url", withBad), ExitCode.DATABASE,
                "password authentication failed for user '" + role + "'");
        assertFalse(viaUri.all().contains(bad), viaUri.toString());

        OpsmvProcess.Result viaEnvUrl = fails(OpsmvProcess.jar().env("DATABASE_URL", withBad).run(60, "update"), ExitCode.DATABASE,
                "password authentication failed");
        assertFalse(viaEnvUrl.all().contains(bad), viaEnvUrl.toString());

        OpsmvProcess.Result viaPgPassword = fails(OpsmvProcess.jar().env("PGPASSWORD", bad).run(60, "status", "--url", base),
                ExitCode.DATABASE, "password authentication failed");
        assertFalse(viaPgPassword.all().contains(bad), viaPgPassword.toString());

        // The right password, from PGPASSWORD and from a password file, connects and is not printed either.
        OpsmvProcess.Result right = ok(OpsmvProcess.jar().env("PGPASSWORD", good).run(60, "status", "--url", base));
        assertFalse(right.all().contains(good), right.toString());
        Path passFile = Files.createTempFile("opsmv-pgpass", "");
        Files.writeString(passFile, "*:*:*:" + role + ":" + good + "\n");
        OpsmvProcess.Result fromFile = ok(OpsmvProcess.jar().env("PGPASSFILE", passFile.toString()).run(60, "status", "--url", base));
        assertFalse(fromFile.all().contains(good), fromFile.toString());
        Files.delete(passFile);
    }

    private static void awaitPasswordRequired(String host, int port, String role) throws Exception {
        ConnectionSpec probe = ConnectionSpec.of(host, port, "postgres", role, "certainly-not-the-password");
        for (int i = 0; i < 50; i++) {
            try (Connection c = probe.open("opsmv-tests")) {
                Thread.sleep(100); // still trusted: the reload has not happened yet
            } catch (SQLException e) {
                if ("28P01".equals(e.getSQLState())) {
                    return;
                }
                throw e;
            }
        }
        throw new IllegalStateException("the server did not start asking " + role + " for a password");
    }
}
