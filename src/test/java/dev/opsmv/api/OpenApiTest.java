package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 27 item 5: /openapi.json checked against the live server. Every documented query parameter's bounds
 * produce the documented 400 naming it; live answers (from the MV, from the view, a cursor page, the errors)
 * validate against the documented schemas with a JSON Schema 2020-12 validator (OpenAPI 3.1's dialect); every
 * documented field and header appears; /docs loads only what the server itself serves.
 */
class OpenApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = Http.CLIENT;
    static final String PATH = ApiServer.DRIVER_MATRIX_PATH;
    static ConnectionSpec db;
    static ApiServer server;
    static String base;
    static JsonNode api;

    @BeforeAll
    static void start() throws Exception {
        db = Deployed.bundleDatabase(400, Deployed.SHARED_SEED);
        server = new ApiServer(db, ApiConfig.defaults().withPort(0));
        base = "http://127.0.0.1:" + server.start();
        HttpResponse<String> r = get("/openapi.json", Map.of());
        assertEquals(200, r.statusCode());
        api = JSON.readTree(r.body());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static HttpResponse<String> get(String pathAndQuery, Map<String, String> headers) throws Exception {
        return Http.get(base + pathAndQuery, headers);
    }

    /** The named component schema as a standalone 2020-12 schema (components become $defs). */
    static Schema schema(String component) throws Exception {
        ObjectNode s = JSON.createObjectNode();
        s.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        s.put("$ref", "#/$defs/" + component);
        s.set("$defs", api.get("components").get("schemas"));
        String text = JSON.writeValueAsString(s).replace("#/components/schemas/", "#/$defs/");
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(text, InputFormat.JSON);
    }

    static void valid(String component, String body, String what) throws Exception {
        List<Error> errors = schema(component).validate(body, InputFormat.JSON);
        assertTrue(errors.isEmpty(), what + " does not match " + component + ": " + errors + "\n" + body);
    }

    static JsonNode operation() {
        return api.get("paths").get(PATH).get("get");
    }

    @Test
    void theDocumentIsOpenApi31WithTheBuildsVersion() {
        assertEquals("3.1.0", api.get("openapi").asText());
        assertTrue(api.get("info").get("version").asText().matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), api.get("info").toString());
        for (String p : List.of(PATH, "/health", "/livez", "/readyz", "/metrics", "/openapi.json", "/docs")) {
            assertTrue(api.get("paths").has(p), "documented: " + p);
        }
    }

    @Test
    void everyDocumentedBoundOfAQueryParameterIs400NamingIt() throws Exception {
        Map<String, List<String>> bad = new LinkedHashMap<>();
        for (JsonNode p : operation().get("parameters")) {
            if (!p.get("in").asText().equals("query")) {
                continue;
            }
            String name = p.get("name").asText();
            JsonNode s = p.get("schema");
            List<String> values = new ArrayList<>();
            if (s.has("enum")) {
                values.add("not-one-of-them");
            }
            if ("integer".equals(s.path("type").asText())) {
                values.add("abc");
                values.add("1.5");
                if (s.has("minimum")) values.add(Long.toString(s.get("minimum").asLong() - 1));
                if (s.has("maximum")) values.add(Long.toString(s.get("maximum").asLong() + 1));
            }
            if ("date".equals(s.path("format").asText())) {
                values.add("2026-13-01");
                values.add("%2B999999999-12-31");
                values.add("-0001-12-31");
            }
            if (name.equals("after")) {
                values.add("not-a-cursor");
            }
            assertFalse(values.isEmpty(), "a bound to test for " + name + ": " + p);
            bad.put(name, values);
        }
        assertEquals(Set.of("origin_tag", "week_start_from", "week_start_to", "limit", "offset", "after", "format"), bad.keySet());
        int checked = 0;
        for (Map.Entry<String, List<String>> e : bad.entrySet()) {
            for (String v : e.getValue()) {
                HttpResponse<String> r = get(PATH + "?" + e.getKey() + "=" + v, Map.of());
                assertEquals(400, r.statusCode(), e.getKey() + "=" + v + ": " + r.body());
                valid("Error", r.body(), e.getKey() + "=" + v);
                assertEquals(e.getKey(), JSON.readTree(r.body()).get("parameter").asText(), r.body());
                checked++;
            }
        }
        System.out.println("[openapi] " + checked + " documented bounds each answered 400 naming the parameter");
        HttpResponse<String> unknown = get(PATH + "?colour=red", Map.of());
        assertEquals(400, unknown.statusCode());
        valid("Error", unknown.body(), "unknown parameter");
        HttpResponse<String> notAcceptable = get(PATH, Map.of("Accept", "image/png"));
        assertEquals(406, notAcceptable.statusCode());
        valid("Error", notAcceptable.body(), "406");
        assertTrue(operation().get("responses").has("406"));
    }

    @Test
    void liveAnswersMatchTheSchemasAndEveryDocumentedFieldAndHeaderAppears() throws Exception {
        HttpResponse<String> page = get(PATH + "?week_start_from=2000-01-03&limit=5", Map.of());
        assertEquals(200, page.statusCode());
        valid("DriverMatrixPage", page.body(), "a page from the MV");
        // the validator does reject: a row without its driver, a count that is a string
        String broken = page.body().replaceFirst("\"driver_id\":\\d+,", "").replaceFirst("\"count\":5", "\"count\":\"5\"");
        assertEquals(2, schema("DriverMatrixPage").validate(broken, InputFormat.JSON).size(), broken);
        JsonNode body = JSON.readTree(page.body());
        Set<String> documented = fields(api.get("components").get("schemas").get("DriverMatrixPage").get("properties"));
        assertEquals(documented, fields(body), "the page's fields are the documented ones");
        Set<String> rowFields = fields(api.get("components").get("schemas").get("DriverMatrixRow").get("properties"));
        assertEquals(rowFields, fields(body.get("rows").get(0)), "a row's columns are the documented ones");

        HttpResponse<String> cursorPage = get(PATH + "?week_start_from=2000-01-03&limit=5&after=" + body.get("next").asText(), Map.of());
        valid("DriverMatrixPage", cursorPage.body(), "a cursor page");

        Set<String> headers = fields(operation().get("responses").get("200").get("headers"));
        HttpResponse<String> gz = get(PATH + "?week_start_from=2000-01-03&limit=5", Map.of("Accept-Encoding", "gzip"));
        for (String h : headers) {
            assertTrue(gz.headers().firstValue(h).isPresent(), "documented header " + h + " in " + gz.headers().map());
        }
        String etag = page.headers().firstValue("ETag").orElseThrow();
        assertEquals(304, get(PATH + "?week_start_from=2000-01-03&limit=5", Map.of("If-None-Match", etag)).statusCode());

        HttpResponse<String> csv = get(PATH + "?week_start_from=2000-01-03&limit=5&format=csv", Map.of());
        assertEquals(new LinkedHashSet<>(List.of(csv.body().split("\r\n")[0].split(","))), rowFields, "the CSV header names the row's columns");

        // the plain view answers in the same shape when the MV is not there to
        Sql.exec(db, "ALTER MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet RENAME TO mv_aside");
        try {
            HttpResponse<String> fromView = get(PATH + "?week_start_from=2000-01-03&limit=5", Map.of());
            assertEquals("view", JSON.readTree(fromView.body()).get("source").asText(), fromView.body());
            valid("DriverMatrixPage", fromView.body(), "a page from the plain view");
        } finally {
            Sql.exec(db, "ALTER MATERIALIZED VIEW ops.mv_aside RENAME TO mv_payments_driver_matrix_cabinet");
        }
    }

    private static Set<String> fields(JsonNode o) {
        Set<String> out = new LinkedHashSet<>();
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void theDocsPageLoadsEverythingFromThisServer() throws Exception {
        HttpResponse<String> page = get("/docs", Map.of());
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        Matcher m = Pattern.compile("(?:src|href)=\"([^\"]+)\"").matcher(page.body());
        List<String> refs = new ArrayList<>();
        while (m.find()) {
            if (!m.group(1).startsWith("data:")) { // the inline empty icon: no request
                refs.add(m.group(1));
            }
        }
        assertEquals(List.of("docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/init.js"), refs);
        for (String ref : refs) {
            HttpResponse<String> asset = get("/" + ref, Map.of());
            assertEquals(200, asset.statusCode(), ref);
            assertTrue(asset.body().length() > 100, ref);
        }
        String init = get("/docs/init.js", Map.of()).body();
        assertTrue(init.contains("url: \"openapi.json\"") && init.contains("validatorUrl: null"), init);
        assertFalse(page.body().contains("://") || init.contains("://"), "nothing from another host");
        HttpResponse<byte[]> bundle = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/docs/swagger-ui-bundle.js"))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals("gzip", bundle.headers().firstValue("Content-Encoding").orElse(""));
        assertTrue(bundle.body().length < 1_000_000, "the 1.7 MB bundle goes out compressed: " + bundle.body().length);
    }
}
