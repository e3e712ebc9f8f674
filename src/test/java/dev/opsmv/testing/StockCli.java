package dev.opsmv.testing;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assertions;

import dev.opsmv.db.ConnectionSpec;

/**
 * The stock Liquibase command line of one line (4.33.x, 5.0.x) as a process, from its own directory
 * target/stock-cli/&lt;version&gt; (liquibase-core, the dependencies its pom declares, pgjdbc; copied
 * by the build), never from the runner's classpath.
 */
public final class StockCli {
    public record Result(int exitCode, String output) {
    }

    private final String version;
    private final List<Path> extraClasspath;

    private StockCli(String version, List<Path> extraClasspath) {
        this.version = version;
        this.extraClasspath = extraClasspath;
    }

    /** Every line the suite tests, as the build lists them (pom.xml: liquibase.version, liquibase5.version). */
    public static List<StockCli> all() {
        return Arrays.stream(Required.property("opsmv.stock.cli.versions").split(",")).map(String::trim).map(StockCli::of).toList();
    }

    /** The line the runner embeds (the first listed). */
    public static StockCli runnersLine() {
        return all().get(0);
    }

    public static StockCli of(String version) {
        return new StockCli(version, List.of());
    }

    public String version() {
        return version;
    }

    /** The same CLI with more jars on its classpath (a changelog jar, as an application would have it). */
    public StockCli withClasspath(Path jar) {
        List<Path> more = new ArrayList<>(extraClasspath);
        more.add(jar);
        return new StockCli(version, more);
    }

    private Path dir() {
        Path dir = Path.of(Required.property("opsmv.stock.cli.dir"), version);
        if (!Files.isDirectory(dir)) {
            Assertions.fail(dir + " is missing: the build copies the stock CLI there in generate-test-resources (run through Maven, without -DskipTests)");
        }
        return dir;
    }

    /** The master changelog from the repository's file system (search path "."). */
    public Result run(ConnectionSpec db, String... command) throws Exception {
        return runFrom(Path.of("."), db, command);
    }

    /** With the changelog read from {@code searchPath}/changelog (a copy written by `opsmv import`). */
    public Result runFrom(Path searchPath, ConnectionSpec db, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("--search-path=" + searchPath.toAbsolutePath().normalize()));
        args.addAll(Arrays.asList(command));
        return exec(Path.of("."), db, args);
    }

    /**
     * No search path, run in {@code workDir}: Liquibase finds changelog/… on its classpath only (with
     * {@link #withClasspath}), as Spring Boot's {@code classpath:changelog/db.changelog-master.yaml} does.
     */
    public Result runFromClasspath(Path workDir, ConnectionSpec db, String... command) throws Exception {
        return exec(workDir, db, Arrays.asList(command));
    }

    private Result exec(Path workDir, ConnectionSpec db, List<String> command) throws Exception {
        StringBuilder cp = new StringBuilder(dir().toAbsolutePath() + File.separator + "*");
        for (Path p : extraClasspath) {
            cp.append(File.pathSeparator).append(p.toAbsolutePath());
        }
        StockCliArchive.Launch archive = StockCliArchive.of(dir(), extraClasspath.isEmpty());
        List<String> cmd = new ArrayList<>(List.of(OpsmvProcess.java(), OpsmvProcess.SHORT_LIVED[0], OpsmvProcess.SHORT_LIVED[1]));
        cmd.addAll(archive.options());
        cmd.addAll(List.of(
                "-cp", cp.toString(),
                "liquibase.integration.commandline.LiquibaseCommandLine",
                "--changelog-file=changelog/db.changelog-master.yaml",
                "--url=" + db.jdbcUrl(),
                "--username=" + db.user(),
                "--analytics-enabled=false",
                "--show-banner=false"));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        if (db.hasPassword()) {
            pb.environment().put("LIQUIBASE_COMMAND_PASSWORD", db.passwordForChildEnvironment());
        }
        long t0 = System.nanoTime();
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("stock CLI " + version + " did not finish: " + output);
        }
        System.out.printf("[opsmv tests] %s %s -> exit %d in %d ms%n", this, String.join(" ", command), p.exitValue(),
                (System.nanoTime() - t0) / 1_000_000);
        archive.afterExit().run();
        return new Result(p.exitValue(), output);
    }

    @Override
    public String toString() {
        return "stock CLI " + version;
    }
}
