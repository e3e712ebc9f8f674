package dev.opsmv.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.embedded.EmbeddedServer;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/**
 * A primary and a streaming physical standby, two embedded clusters of the suite's PostgreSQL major.
 * The binaries have no pg_basebackup: the primary is stopped cleanly, its data directory copied, the copy
 * given standby.signal and primary_conninfo, then both started. Database {@value #DATABASE} holds the
 * source fixture and the bundle before the copy; everything after travels by WAL. Close removes both.
 */
public final class StandbyPair implements AutoCloseable {
    public static final String DATABASE = "opsmv";
    // Defaults since PostgreSQL 10 except wal_keep_size, which keeps the WAL a slow standby still needs
    // (no replication slot: a test that dies must not leave WAL piling up on a primary).
    private static final Map<String, String> PRIMARY = Map.of("wal_level", "replica", "max_wal_senders", "5",
            "wal_keep_size", "512MB", "hot_standby", "on");

    private final Path root;
    private final EmbeddedServer primary;
    private EmbeddedServer standby;

    private StandbyPair(Path root, EmbeddedServer primary, EmbeddedServer standby) {
        this.root = root;
        this.primary = primary;
        this.standby = standby;
    }

    /** A primary with the fixture ({@code drivers}, {@code seed}) and the bundle applied, and its standby, streaming. */
    public static StandbyPair start(long drivers, long seed) throws Exception {
        String version = System.getProperty("opsmv.pg.version", System.getenv().getOrDefault("OPSMV_PG_VERSION", ""));
        Path root = Files.createTempDirectory("opsmv-standby-pair");
        Path primaryDir = root.resolve("primary");
        Path standbyDir = root.resolve("standby");
        EmbeddedServer first = EmbeddedServer.start(version, primaryDir, PRIMARY);
        try {
            first.createDatabase(DATABASE);
            try (Connection c = first.spec(DATABASE).open("opsmv-tests")) {
                SourceFixture fixture = new SourceFixture(c);
                fixture.createTables();
                fixture.generate(new SourceFixture.Spec(drivers, seed, 0, SourceFixture.Spec.currentWeek()), s -> { });
                Migrator.bundle(c, null).update();
            }
        } finally {
            first.close(); // pg_ctl stop -m fast: a clean shutdown checkpoint, so the copy needs no recovery of its own
        }
        copy(primaryDir, standbyDir);
        EmbeddedServer primary = EmbeddedServer.start(version, primaryDir, PRIMARY);
        try {
            Files.writeString(standbyDir.resolve("standby.signal"), "");
            Files.writeString(standbyDir.resolve("postgresql.auto.conf"),
                    "\nprimary_conninfo = 'host=localhost port=" + primary.port() + " user=postgres application_name=opsmv_standby'\n",
                    StandardOpenOption.APPEND);
            EmbeddedServer standby = EmbeddedServer.start(version, standbyDir, Map.of("hot_standby", "on"));
            StandbyPair pair = new StandbyPair(root, primary, standby);
            Duration caughtUp = pair.awaitReplay(Duration.ofSeconds(60));
            System.err.println("[opsmv tests] standby pair: PostgreSQL " + Sql.value(pair.standby(), "SHOW server_version")
                    + ", primary on port " + primary.port() + ", standby on port " + standby.port() + " (streaming, caught up in "
                    + caughtUp.toMillis() + " ms)");
            return pair;
        } catch (Exception e) {
            primary.close();
            delete(root);
            throw e;
        }
    }

    public ConnectionSpec primary() {
        return primary.spec(DATABASE);
    }

    public ConnectionSpec standby() {
        return standby.spec(DATABASE);
    }

    public int standbyPort() {
        return standby.port();
    }

    /**
     * Waits until the standby has replayed everything the primary has committed so far (its current WAL
     * insert position); fails after {@code max}, naming both positions.
     */
    public Duration awaitReplay(Duration max) throws InterruptedException {
        // The insert position, not pg_current_wal_lsn() (the write position): with synchronous_commit off (the suite's
        // clusters) a commit can return before its record is written out, and would be missed.
        String target = String.valueOf(Sql.value(primary(), "SELECT pg_current_wal_insert_lsn()::text"));
        long t0 = System.nanoTime();
        long deadline = t0 + max.toNanos();
        while (true) {
            Object caughtUp = Sql.value(standby(), "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn");
            if (Boolean.TRUE.equals(caughtUp)) {
                return Duration.ofNanos(System.nanoTime() - t0);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the standby has not replayed up to " + target + " within " + max + " (replayed: "
                        + Sql.value(standby(), "SELECT pg_last_wal_replay_lsn()::text") + ", paused: "
                        + Sql.value(standby(), "SELECT pg_is_wal_replay_paused()") + ")");
            }
            Thread.sleep(50);
        }
    }

    /** Stops the standby (pg_ctl stop -m fast); its port then refuses connections. */
    public void stopStandby() throws IOException {
        if (standby != null) {
            standby.close();
            standby = null;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            stopStandby();
        } finally {
            try {
                primary.close();
            } finally {
                delete(root);
            }
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                String name = p.getFileName().toString();
                if (name.equals("postmaster.pid") || name.equals("epg-lock")) {
                    continue;
                }
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                    // PostgreSQL refuses a data directory readable by others (0700 or 0750 only)
                    Files.setPosixFilePermissions(target, Files.getPosixFilePermissions(p));
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static void delete(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("[opsmv tests] could not remove " + root + ": " + e.getMessage());
        }
    }
}
