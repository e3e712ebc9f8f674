package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;

/** Issue 2: the stock Liquibase command line applies the same changelog, from the file system, with the same history. */
// Runs on every major of the version matrix (pom.xml executions pg16/pg17 run only this tag).
@Tag("matrix")
class StockLiquibaseCliTest {

    @Test
    void stockCliAppliesTheSameChangelogWithTheSameIdsAndObjects() throws Exception {
        ConnectionSpec viaRunner = Deployed.bundleDatabase(800, 13);
        ConnectionSpec viaCli = Deployed.fixtureDatabase(800, 13, 0);

        List<String> cmd = new ArrayList<>(List.of(
                javaBin(), "-cp", System.getProperty("java.class.path"),
                "liquibase.integration.commandline.LiquibaseCommandLine",
                "--search-path=.",
                "--changelog-file=changelog/db.changelog-master.yaml",
                "--url=" + viaCli.jdbcUrl(),
                "--username=" + viaCli.user(),
                "--analytics-enabled=false",
                "--show-banner=false",
                "update"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (viaCli.hasPassword()) {
            pb.environment().put("LIQUIBASE_COMMAND_PASSWORD", viaCli.passwordForChildEnvironment());
        }
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(5, TimeUnit.MINUTES);
        assertEquals(0, p.exitValue(), output);

        assertEquals(Catalog.history(viaRunner), Catalog.history(viaCli));
        assertEquals(Catalog.snapshot(viaRunner), Catalog.snapshot(viaCli));
    }

    static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
