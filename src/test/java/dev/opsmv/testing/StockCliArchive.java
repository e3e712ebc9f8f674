package dev.opsmv.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A class-data sharing archive of one stock Liquibase CLI directory, for the JVMs the suite starts from it
 * (about seventy in one run), which would otherwise each read and verify the same classes out of its jars.
 *
 * <p>Unlike {@link RunnerArchive} there is no training run of its own: the first process of a line that finds
 * no archive writes it at its exit (-XX:ArchiveClassesAtExit), doing the command the test asked for, and every
 * later one maps it. The name carries the directory's jars (names and sizes) and the JVM, so other jars never
 * meet it. The CLI is the same: the same jars, the same classes, mapped instead of read. A JVM that cannot map
 * the archive runs without it; the JVM's CDS log lines stay off because the tests read the CLI's output.
 */
final class StockCliArchive {
    private static final Map<Path, Path> ARCHIVES = new HashMap<>();

    private StockCliArchive() {
    }

    /**
     * A launch with the archive of {@code dir}: its JVM options, and what to do once the process has exited.
     * Only a launch on the directory's classpath alone writes the archive: a JVM maps an archive whose class
     * path its own starts with, so one written with a changelog jar appended would serve no other launch.
     */
    record Launch(List<String> options, Runnable afterExit) {
    }

    static synchronized Launch of(Path dir, boolean mayWrite) {
        Path archive = ARCHIVES.computeIfAbsent(dir, StockCliArchive::name);
        if (archive == null) {
            return new Launch(List.of(), () -> { });
        }
        if (Files.exists(archive)) {
            return new Launch(List.of(RunnerArchive.QUIET, "-XX:SharedArchiveFile=" + archive), () -> { });
        }
        if (!mayWrite) {
            return new Launch(List.of(), () -> { });
        }
        try {
            Files.createDirectories(archive.getParent());
        } catch (IOException e) {
            return new Launch(List.of(), () -> { });
        }
        Path partial = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
        return new Launch(List.of(RunnerArchive.QUIET, "-XX:ArchiveClassesAtExit=" + partial), () -> {
            try {
                if (Files.exists(partial)) {
                    Files.move(partial, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    System.out.println("[opsmv tests] class-data archive of the stock CLI written: " + archive);
                }
            } catch (IOException e) {
                System.out.println("[opsmv tests] stock CLI JVMs start without a class-data archive: " + e.getMessage());
            }
        });
    }

    private static Path name(Path dir) {
        try (Stream<Path> jars = Files.list(dir)) {
            int key = jars.sorted().map(p -> p.getFileName() + ":" + size(p)).toList().hashCode();
            return Path.of("target", "cds", "stock-cli-" + dir.getFileName() + "-" + Integer.toHexString(key) + "-"
                    + System.getProperty("java.vm.version").replaceAll("[^A-Za-z0-9.]", "_") + ".jsa").toAbsolutePath();
        } catch (IOException e) {
            System.out.println("[opsmv tests] stock CLI JVMs start without a class-data archive: " + e.getMessage());
            return null;
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
