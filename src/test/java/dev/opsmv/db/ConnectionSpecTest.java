package dev.opsmv.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 3: how --url, DATABASE_URL, the libpq variables and ~/.pgpass resolve (parsing only; the process tests connect). */
class ConnectionSpecTest {
    @TempDir
    Path home;

    @Test
    void libpqUriWithPasswordAndParameters() {
        ConnectionSpec s = ConnectionSpec.resolve("postgres://deploy:p%40ss%2Fw0rd@db.example:6432/ops?sslmode=require&connect_timeout=3",
                Map.of(), home);
        assertEquals("db.example", s.host());
        assertEquals(6432, s.port());
        assertEquals("ops", s.database());
        assertEquals("deploy", s.user());
        assertEquals("p@ss/w0rd", s.passwordForChildEnvironment());
        assertEquals("jdbc:postgresql://db.example:6432/ops", s.jdbcUrl());
        assertEquals("require", s.properties("x").getProperty("sslmode"));
        assertEquals("3", s.properties("x").getProperty("connectTimeout"));
        assertFalse(s.describe().contains("p@ss"), s.describe());
    }

    @Test
    void jdbcUrlWithUserAndPasswordParameters() {
        ConnectionSpec s = ConnectionSpec.resolve("jdbc:postgresql://localhost/ops?user=deploy&password=s3cret", Map.of(), home);
        assertEquals(5432, s.port());
        assertEquals("deploy", s.user());
        assertEquals("s3cret", s.properties("x").getProperty("password"));
        assertFalse(s.jdbcUrl().contains("s3cret"));
    }

    @Test
    void optionBeatsDatabaseUrlWhichBeatsPgVariables() {
        Map<String, String> env = Map.of("DATABASE_URL", "postgres://a@h1/d1", "PGHOST", "h2", "PGDATABASE", "d2", "PGUSER", "u2", "PGPORT", "7000");
        // As in libpq, what the URL leaves out (here the port) comes from the PG* variables.
        assertEquals("a@h1:7000/d1", ConnectionSpec.resolve(null, env, home).describe());
        assertEquals("b@h3:7000/d3", ConnectionSpec.resolve("postgres://b@h3/d3", env, home).describe());
        assertEquals("b@h3:5433/d3", ConnectionSpec.resolve("postgres://b@h3:5433/d3", env, home).describe());
        Map<String, String> pgOnly = Map.of("PGHOST", "h2", "PGDATABASE", "d2", "PGUSER", "u2", "PGPORT", "7000", "PGPASSWORD", "pw-from-env");
        ConnectionSpec s = ConnectionSpec.resolve(null, pgOnly, home);
        assertEquals("u2@h2:7000/d2", s.describe());
        assertEquals("pw-from-env", s.passwordForChildEnvironment());
    }

    @Test
    void pgpassMatchesWithWildcardsAndEscapes() throws Exception {
        Files.writeString(home.resolve(".pgpass"), """
                # comment
                other:5432:*:deploy:wrong
                db.example:*:ops:deploy:pa\\:ss\\\\word
                """);
        ConnectionSpec s = ConnectionSpec.resolve("postgres://deploy@db.example:6432/ops", Map.of(), home);
        assertEquals("pa:ss\\word", s.passwordForChildEnvironment());
        // PGPASSWORD wins over the file; a password in the URL wins over both.
        assertEquals("env", ConnectionSpec.resolve("postgres://deploy@db.example/ops", Map.of("PGPASSWORD", "env"), home).passwordForChildEnvironment());
        assertEquals("url", ConnectionSpec.resolve("postgres://deploy:url@db.example/ops", Map.of("PGPASSWORD", "env"), home).passwordForChildEnvironment());
    }

    @Test
    void malformedUrlsAreUsageErrorsThatNameTheSourceAndHideThePassword() {
        BadConnectionUrl scheme = assertThrows(BadConnectionUrl.class, () -> ConnectionSpec.resolve("mysql://u:hunter22@h/db", Map.of(), home));
        assertTrue(scheme.getMessage().startsWith("--url: connection URL must start with"), scheme.getMessage());
        assertFalse(scheme.getMessage().contains("hunter22"), scheme.getMessage());

        BadConnectionUrl port = assertThrows(BadConnectionUrl.class,
                () -> ConnectionSpec.resolve(null, Map.of("DATABASE_URL", "postgres://u:hunter23@h:99999/db"), home));
        assertTrue(port.getMessage().startsWith("DATABASE_URL: "), port.getMessage());
        assertFalse(port.getMessage().contains("hunter23"), port.getMessage());

        // An unencoded '/' and '@' in the password break the URL; the message must still not show it.
        BadConnectionUrl broken = assertThrows(BadConnectionUrl.class,
                () -> ConnectionSpec.resolve("postgres://u:hun/ter@24@h:x/db", Map.of(), home));
        assertFalse(broken.getMessage().contains("hun/ter@24"), broken.getMessage());
        assertFalse(broken.getMessage().contains("ter@24"), broken.getMessage());

        assertThrows(BadConnectionUrl.class, () -> ConnectionSpec.resolve(null, Map.of("PGPORT", "abc"), home));
        assertThrows(BadConnectionUrl.class, () -> ConnectionSpec.resolve("postgres://h/db?host=other", Map.of(), home));
    }

    @Test
    void redactHidesUserinfoPasswordParametersAndRememberedSecrets() {
        assertEquals("postgres://u:***@h/db", Redact.url("postgres://u:pw@h/db"));
        assertEquals("jdbc:postgresql://h/db?user=u&password=***", Redact.url("jdbc:postgresql://h/db?user=u&password=pw"));
        assertEquals("x postgres://u:***@h/db y", Redact.url("x postgres://u:p@w/rd@h/db y"));
        Redact.remember("remembered-secret-1");
        assertEquals("FATAL: *** rejected", Redact.url("FATAL: remembered-secret-1 rejected"));
    }

    @Test
    void multiHostUrlsInBothSpellingsKeepEveryServerInOrder() {
        ConnectionSpec libpq = ConnectionSpec.resolve(
                "postgres://reader:pw@standby1:5433,standby2,primary:5432/ops?target_session_attrs=prefer-standby", Map.of("PGPORT", "6000"), home);
        assertTrue(libpq.multiHost());
        assertEquals("jdbc:postgresql://standby1:5433,standby2:6000,primary:5432/ops", libpq.jdbcUrl());
        assertEquals("preferSecondary", libpq.properties("x").getProperty("targetServerType"));
        assertEquals("pw", libpq.passwordForChildEnvironment());
        assertFalse(libpq.describe().contains("pw"), libpq.describe());

        ConnectionSpec jdbc = ConnectionSpec.resolve("jdbc:postgresql://h1:5433,[::1]:5434/ops?targetServerType=preferSecondary", Map.of(), home);
        assertEquals("jdbc:postgresql://h1:5433,[::1]:5434/ops", jdbc.jdbcUrl());
        assertEquals("preferSecondary", jdbc.properties("x").getProperty("targetServerType"));

        assertEquals("secondary", ConnectionSpec.resolve("postgres://h1,h2/ops?target_session_attrs=standby", Map.of(), home)
                .properties("x").getProperty("targetServerType"));
        BadConnectionUrl bad = assertThrows(BadConnectionUrl.class,
                () -> ConnectionSpec.resolve("postgres://h1,h2/ops?target_session_attrs=nearest", Map.of(), home));
        assertTrue(bad.getMessage().contains("target_session_attrs must be one of"), bad.getMessage());
        BadConnectionUrl emptyHost = assertThrows(BadConnectionUrl.class, () -> ConnectionSpec.resolve("postgres://h1,/ops", Map.of(), home));
        assertTrue(emptyHost.getMessage().contains("host list"), emptyHost.getMessage());
    }

    @Test
    void severalUrlsBecomeOneReaderThatPrefersStandbys() {
        ConnectionSpec a = ConnectionSpec.resolve("postgres://reader@primary:5432/ops", Map.of(), home);
        ConnectionSpec b = ConnectionSpec.resolve("postgres://reader@standby:5433/ops", Map.of(), home);
        ConnectionSpec both = ConnectionSpec.anyOf(java.util.List.of(a, b));
        assertEquals("jdbc:postgresql://primary:5432,standby:5433/ops", both.jdbcUrl());
        assertEquals("preferSecondary", both.properties("x").getProperty("targetServerType"));
        assertEquals("reader@primary:5432,standby:5433/ops", both.describe());
        ConnectionSpec other = ConnectionSpec.resolve("postgres://reader@standby:5433/other", Map.of(), home);
        BadConnectionUrl bad = assertThrows(BadConnectionUrl.class, () -> ConnectionSpec.anyOf(java.util.List.of(a, other)));
        assertTrue(bad.getMessage().contains("replicas of one database"), bad.getMessage());
    }
}
