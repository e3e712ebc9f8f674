package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * A released changeset keeps its checksum forever: databases deployed with it must validate against
 * every later changelog. Preconditions and rollbacks may change (Liquibase leaves them out of the
 * checksum); the statements may not. The list was recorded from the changelog as released.
 */
class ReleasedChecksumsTest {
    static final Path RECORDED = Path.of("src", "test", "resources", "released", "checksums.txt");

    @Test
    void everyReleasedChangesetKeepsItsChecksum() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        List<String> now = Sql.strings(db, "SELECT filename || '::' || id || '::' || author || ' ' || md5sum FROM databasechangelog ORDER BY filename, id");
        if (Boolean.getBoolean("opsmv.record.checksums")) {
            Files.write(RECORDED, now, StandardCharsets.UTF_8);
        }
        for (String released : Files.readAllLines(RECORDED, StandardCharsets.UTF_8)) {
            String key = released.substring(0, released.lastIndexOf(' '));
            String current = now.stream().filter(l -> l.startsWith(key + " ")).findFirst().orElse(key + " (missing)");
            assertEquals(released, current, "a released changeset changed its statements (or vanished)");
        }
    }
}
