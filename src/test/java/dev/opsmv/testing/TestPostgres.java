package dev.opsmv.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.embedded.EmbeddedServer;

/**
 * The one real PostgreSQL server of a test JVM, and fresh databases on it.
 *
 * <ul>
 *   <li>{@code OPSMV_TEST_JDBC_URL} set: that server (its user needs CREATEDB); one database per use.</li>
 *   <li>{@code OPSMV_TEST_BACKEND=testcontainers}: a postgres container, where a Docker engine answers.</li>
 *   <li>otherwise: an embedded server (zonky binaries); major from {@code -Dopsmv.pg.version} or
 *       {@code OPSMV_PG_VERSION} (14 bundled; 16, 17, 18 from target/pg-binaries).</li>
 * </ul>
 */
public final class TestPostgres {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long START_MILLIS = System.currentTimeMillis();
    private static Server server;
    private static int major;

    private TestPostgres() {
    }

    interface Server {
        ConnectionSpec admin();

        String describe();

        default boolean embedded() {
            return false;
        }

        /** The existing server of OPSMV_TEST_JDBC_URL: what this JVM leaves there stays. */
        default boolean outlivesTheJvm() {
            return false;
        }
    }

    public static synchronized ConnectionSpec admin() {
        return server().admin();
    }

    /** Whether the server is this JVM's own embedded one (its files, pg_hba.conf included, are ours to change). */
    public static synchronized boolean embedded() {
        return server().embedded();
    }

    /** A new, empty database on the shared server. */
    public static ConnectionSpec freshDatabase() {
        return createDatabase(nextName(), null);
    }

    /** A new database on the shared server, an exact copy of {@code template} (which nobody may be connected to). */
    static ConnectionSpec copyOf(String template) {
        return createDatabase(nextName(), template);
    }

    private static String nextName() {
        return "opsmv_t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    }

    /** {@code CREATE DATABASE name}, from {@code template} (null: the server's default, template1). */
    static ConnectionSpec createDatabase(String name, String template) {
        ConnectionSpec admin = admin();
        String sql = "CREATE DATABASE " + name;
        if (template != null) {
            sql += " TEMPLATE " + template;
            // 15+ copies through the WAL by default; for the suite's databases of 10-20 MB a file copy was
            // measured faster on 18 (about 220 ms against 300 ms)
            if (serverMajor() >= 15) {
                sql += " STRATEGY FILE_COPY";
            }
        }
        try (Connection c = admin.open("opsmv-tests"); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name + " on " + server.describe() + ": " + e.getMessage(), e);
        }
        return admin.withDatabase(name);
    }

    /**
     * Makes {@code name} a template nothing connects to any more: a session on it would make every copy
     * fail, and autovacuum leaves such a database alone, so every copy is the database as it was built.
     * On a server that outlives the JVM it is dropped when the JVM exits: a later run builds its own
     * from the changelog it has then.
     */
    static synchronized void seal(String name) {
        Sql.exec(admin(), "ALTER DATABASE " + name + " WITH ALLOW_CONNECTIONS false");
        if (server().outlivesTheJvm()) {
            ConnectionSpec admin = admin();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (Connection c = admin.open("opsmv-tests"); Statement st = c.createStatement()) {
                    st.execute("DROP DATABASE IF EXISTS " + name);
                } catch (SQLException ignored) {
                    // the server went first: nothing this JVM can still do about it
                }
            }));
        }
    }

    /** Tells this JVM's databases apart from another's on a shared server: its pid and its start. */
    static String jvmToken() {
        return ProcessHandle.current().pid() + "_" + Long.toString(START_MILLIS % 1_000_000_000L, 36);
    }

    private static synchronized int serverMajor() {
        if (major == 0) {
            major = majorVersion();
        }
        return major;
    }

    /** The server's major version number (14, 16, …). */
    public static int majorVersion() {
        try (Connection c = admin().open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static synchronized Server server() {
        if (server == null) {
            server = start(System.getenv());
            System.err.println("[opsmv tests] PostgreSQL: " + server.describe());
        }
        return server;
    }

    private static Server start(Map<String, String> env) {
        String url = env.get("OPSMV_TEST_JDBC_URL");
        if (url != null && !url.isBlank()) {
            ConnectionSpec spec = ConnectionSpec.resolve(url, env, Path.of(System.getProperty("user.home")));
            return new Server() {
                public ConnectionSpec admin() { return spec; }
                public String describe() { return "existing server " + spec.describe(); }
                public boolean outlivesTheJvm() { return true; }
            };
        }
        String version = System.getProperty("opsmv.pg.version", env.getOrDefault("OPSMV_PG_VERSION", ""));
        if ("testcontainers".equalsIgnoreCase(env.get("OPSMV_TEST_BACKEND"))) {
            return Containers.start(version.isBlank() ? "17" : version);
        }
        try {
            EmbeddedServer embedded = EmbeddedServer.start(version, null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    embedded.close();
                } catch (Exception ignored) {
                    // the JVM is going away; zonky removes its directory on its own hook
                }
            }));
            ConnectionSpec spec = embedded.spec("postgres");
            return new Server() {
                public ConnectionSpec admin() { return spec; }
                public String describe() { return "embedded " + (version.isBlank() ? "(default 14)" : version) + " on port " + embedded.port(); }
                public boolean embedded() { return true; }
            };
        } catch (Exception e) {
            throw new IllegalStateException("cannot start embedded PostgreSQL " + version + ": " + e.getMessage(), e);
        }
    }

    /** Kept apart so the Testcontainers classes load only when that backend is chosen. */
    static final class Containers {
        static Server start(String version) {
            var container = new org.testcontainers.postgresql.PostgreSQLContainer("postgres:" + version.split("\\.")[0]);
            container.start();
            ConnectionSpec spec = ConnectionSpec.of(container.getHost(), container.getMappedPort(5432), "postgres",
                    container.getUsername(), container.getPassword());
            return new Server() {
                public ConnectionSpec admin() { return spec; }
                public String describe() { return "testcontainers postgres:" + version; }
            };
        }
    }
}
