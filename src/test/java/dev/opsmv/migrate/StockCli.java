package dev.opsmv.migrate;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.opsmv.db.ConnectionSpec;

/** The stock Liquibase command line (the one inside liquibase-core) on the master changelog from the file system, as a process. */
final class StockCli {
    record Result(int exitCode, String output) {
    }

    private StockCli() {
    }

    static Result run(ConnectionSpec db, String... command) throws Exception {
        return runFrom(java.nio.file.Path.of("."), db, command);
    }

    /** With the changelog read from {@code searchPath}/changelog (a copy written by `opsmv import`). */
    static Result runFrom(java.nio.file.Path searchPath, ConnectionSpec db, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-cp", System.getProperty("java.class.path"),
                "liquibase.integration.commandline.LiquibaseCommandLine",
                "--search-path=" + searchPath,
                "--changelog-file=changelog/db.changelog-master.yaml",
                "--url=" + db.jdbcUrl(),
                "--username=" + db.user(),
                "--analytics-enabled=false",
                "--show-banner=false"));
        cmd.addAll(Arrays.asList(command));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (db.hasPassword()) {
            pb.environment().put("LIQUIBASE_COMMAND_PASSWORD", db.passwordForChildEnvironment());
        }
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("stock CLI did not finish: " + output);
        }
        return new Result(p.exitValue(), output);
    }
}
