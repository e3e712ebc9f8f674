package dev.opsmv.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * /openapi.json (the OpenAPI 3.1 description of every path, written by hand in
 * src/main/filtered/dev/opsmv/api/openapi.json with the build's version) and /docs, which renders it with
 * Swagger UI from the jar: no CDN, so it works on a machine without internet. Each file is read once and kept
 * with its gzip form.
 */
final class ApiDocs {
    /** A file as served: its bytes, their gzip form, its type. */
    record Asset(byte[] body, byte[] gzip, String contentType) {
    }

    private static final String SWAGGER = "META-INF/resources/webjars/swagger-ui/" + swaggerVersion() + "/";
    private static final Map<String, String> FILES = Map.of(
            "/openapi.json", "dev/opsmv/api/openapi.json",
            "/docs", "dev/opsmv/api/docs.html",
            "/docs/init.js", "dev/opsmv/api/docs-init.js",
            "/docs/swagger-ui-bundle.js", SWAGGER + "swagger-ui-bundle.js",
            "/docs/swagger-ui.css", SWAGGER + "swagger-ui.css");
    private final ConcurrentHashMap<String, Asset> loaded = new ConcurrentHashMap<>();

    static boolean serves(String path) {
        return FILES.containsKey(path);
    }

    /** The file at {@code path} (one of {@link #serves}), loaded on first use. */
    Asset get(String path) {
        return loaded.computeIfAbsent(path, p -> {
            String resource = FILES.get(p);
            try (InputStream in = ApiDocs.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing from the jar: " + resource);
                }
                byte[] body = in.readAllBytes();
                return new Asset(body, ResponseCache.compress(body, body.length), type(resource));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static String type(String resource) {
        if (resource.endsWith(".json")) {
            return "application/json; charset=utf-8";
        }
        if (resource.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (resource.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        return "text/javascript; charset=utf-8";
    }

    private static String swaggerVersion() {
        Properties p = new Properties();
        try (InputStream in = ApiDocs.class.getClassLoader().getResourceAsStream("dev/opsmv/api/docs.properties")) {
            if (in != null) {
                p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("swagger.ui.version", "unknown");
    }
}
