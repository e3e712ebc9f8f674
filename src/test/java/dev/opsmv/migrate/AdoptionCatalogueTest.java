package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * The adoption catalogue (ops.opsmv_bundle_object) repeats each definition of the released files,
 * whose text can never change (their checksums are released): this test keeps the copy exact, so
 * the adoption gate compares a database with what the changesets really create.
 */
// "newest": the catalogue is compared with the definitions the server deparses, which change with the major
@Tag("newest")
class AdoptionCatalogueTest {
    private static final Pattern CREATE = Pattern.compile(
            "--changeset opsmv:(\\S+).*?CREATE (?:OR REPLACE )?(?:MATERIALIZED )?VIEW ops\\.(\\w+) AS\\n(.*?)(?:\\nWITH DATA;|;\\n)", Pattern.DOTALL);

    @Test
    void everyCatalogueDefinitionIsTheOneItsChangesetCreates() throws Exception {
        Map<String, String> fromFiles = new LinkedHashMap<>();
        try (var files = Files.walk(Path.of("changelog", "ops"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".sql") && !p.toString().contains("adoption"))::iterator) {
                Matcher m = CREATE.matcher(Files.readString(f, StandardCharsets.UTF_8));
                while (m.find()) {
                    fromFiles.put(m.group(1), withoutComments(m.group(3).replace("${source_schema}", "public")));
                }
            }
        }
        ConnectionSpec db = Deployed.bundleDatabase(50, Deployed.SHARED_SEED);
        Map<String, String> catalogue = new LinkedHashMap<>();
        for (Map<String, Object> row : Sql.rows(db, "SELECT changeset_id, definition FROM ops.opsmv_bundle_object WHERE definition IS NOT NULL ORDER BY seq")) {
            catalogue.put((String) row.get("changeset_id"), withoutComments((String) row.get("definition")));
        }
        assertEquals(new java.util.TreeMap<>(fromFiles), new java.util.TreeMap<>(catalogue));
    }

    /** Liquibase strips SQL comments from what it runs; PostgreSQL ignores them: compare the statements. */
    static String withoutComments(String sql) {
        return sql.replaceAll("--[^\n]*", "").replaceAll("[ \t]+\n", "\n").replaceAll("\n{2,}", "\n").strip();
    }
}
