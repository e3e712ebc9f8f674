package dev.opsmv.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

/**
 * A command's {@code --format json} output checked against its schema, docs/schemas/&lt;command&gt;.v1.schema.json
 * (JSON Schema draft 2020-12, networknt's validator): stdout must be exactly one document, valid, whose
 * {@code schema} names the command.
 */
public final class JsonSchemas {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final Map<String, Schema> SCHEMAS = new ConcurrentHashMap<>();

    private JsonSchemas() {
    }

    /** Parses {@code stdout} as one JSON document, validates it against {@code command}'s schema and returns it. */
    public static JsonNode document(String command, String stdout) {
        JsonNode doc;
        try {
            doc = JSON.readTree(stdout);
        } catch (IOException e) {
            throw new AssertionError("stdout of " + command + " --format json is not one JSON document: " + e.getMessage() + "\n" + stdout, e);
        }
        List<Error> errors = schema(command).validate(doc);
        assertEquals(List.of(), errors.stream().map(Error::toString).toList(), command + " document against its schema:\n" + stdout);
        assertEquals("opsmv." + command + "/1", doc.get("schema").asText());
        return doc;
    }

    private static Schema schema(String command) {
        return SCHEMAS.computeIfAbsent(command, c -> {
            Path file = Path.of("docs", "schemas", c + ".v1.schema.json");
            try (InputStream in = Files.newInputStream(file)) {
                return REGISTRY.getSchema(in);
            } catch (IOException e) {
                throw new AssertionError("no schema " + file + " for " + c, e);
            }
        });
    }
}
