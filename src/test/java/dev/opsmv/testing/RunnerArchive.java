package dev.opsmv.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.ConnectionSpec;

/**
 * A class-data sharing archive of the runner jar, for the JVMs the acceptance tests start from it (more
 * than fifty in one run), which would otherwise each read and verify the same few thousand classes out of
 * the 16 MB jar. Measured per process: status 1.44 → 1.05 s, update 2.58 → 2.17 s, rollback 1.70 → 1.21 s.
 *
 * <p>The archive is written once per jar by an update of a fresh fixture database (the classes of the
 * commands the tests run most) and named after the jar's size and time, so a rebuilt jar never meets an
 * archive of another. The runner's behaviour is the same: the same classes, mapped from the archive. The
 * JVM's own CDS log lines are off because a JVM that cannot map an archive runs without it and says so on
 * stdout, which the tests read.
 */
final class RunnerArchive {
    static final String QUIET = "-Xlog:cds*=off";
    private static List<String> options;

    private RunnerArchive() {
    }

    /** The JVM options that map the archive of {@code jar}, written first if there is none yet (none if that fails). */
    static synchronized List<String> options(Path jar) {
        if (options == null) {
            options = load(jar);
        }
        return options;
    }

    private static List<String> load(Path jar) {
        try {
            Path archive = Path.of("target", "cds", "opsmv-" + Files.size(jar) + "-" + Files.getLastModifiedTime(jar).toMillis()
                    + "-" + System.getProperty("java.vm.version").replaceAll("[^A-Za-z0-9.]", "_") + ".jsa").toAbsolutePath();
            if (!Files.exists(archive)) {
                write(jar, archive);
            }
            return List.of(QUIET, "-XX:SharedArchiveFile=" + archive);
        } catch (Exception e) {
            System.out.println("[opsmv tests] runner JVMs start without a class-data archive: " + e.getMessage());
            return List.of();
        }
    }

    private static void write(Path jar, Path archive) throws Exception {
        Files.createDirectories(archive.getParent());
        Path partial = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        ConnectionSpec db = Deployed.fixtureDatabase(50, Deployed.SHARED_SEED, 0);
        List<String> launcher = new ArrayList<>(List.of(OpsmvProcess.java(), OpsmvProcess.SHORT_LIVED[0], OpsmvProcess.SHORT_LIVED[1],
                QUIET, "-XX:ArchiveClassesAtExit=" + partial, "-jar", jar.toAbsolutePath().toString()));
        OpsmvProcess training = OpsmvProcess.launcher(launcher);
        if (db.hasPassword()) {
            training.env("PGPASSWORD", db.passwordForChildEnvironment());
        }
        long t0 = System.nanoTime();
        OpsmvProcess.Result r = training.run(300, "update", "--url",
                Cli.urlForArgv(db));
        if (r.exitCode() != 0 || !Files.exists(partial)) {
            Files.deleteIfExists(partial);
            throw new IOException("the training update ended " + r);
        }
        Files.move(partial, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        // 20 MB each: the archives of jars built before this one serve nothing any more
        try (var old = Files.newDirectoryStream(archive.getParent(), "opsmv-*.jsa")) {
            for (Path p : old) {
                if (!p.equals(archive)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        System.out.printf("[opsmv tests] class-data archive of %s written in %d ms: %s%n", jar.getFileName(),
                (System.nanoTime() - t0) / 1_000_000, archive);
    }
}
