package dev.opsmv.docs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.PromText;

/**
 * Issue 28 item 4: every metric the Grafana dashboard's queries use, and every label they group or filter by,
 * exists in a real exposition of `serve`'s /metrics (which carries health's metrics too) after real requests.
 */
class GrafanaDashboardTest {
    private static final Pattern METRIC = Pattern.compile("\\bopsmv_[a-z_]+\\b");
    private static final Pattern BY = Pattern.compile("by \\(([^)]*)\\)");
    private static final Pattern MATCHER = Pattern.compile("\\{([a-z_]+)=\"([^\"]*)\"\\}");

    @Test
    void everyMetricAndLabelTheDashboardQueriesExists() throws Exception {
        JsonNode dash = new ObjectMapper().readTree(Files.readString(Path.of("docs/dashboards/opsmv.json")));
        Set<String> exprs = new LinkedHashSet<>();
        for (JsonNode panel : dash.get("panels")) {
            for (JsonNode t : panel.get("targets")) {
                exprs.add(t.get("expr").asText());
            }
        }
        assertFalse(exprs.isEmpty());

        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String exposition;
        HttpClient http = HttpClient.newHttpClient();
        try (ApiServer server = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            for (int i = 0; i < 20; i++) {
                http.send(HttpRequest.newBuilder(URI.create(base + ApiServer.DRIVER_MATRIX_PATH + "?limit=5")).build(), HttpResponse.BodyHandlers.discarding());
                Thread.sleep(20);
            }
            exposition = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        }
        PromText.Parsed parsed = PromText.parse(exposition);
        Set<String> missing = new TreeSet<>();
        int checked = 0;
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                String metric = m.group();
                var samples = parsed.named(metric);
                if (samples.isEmpty()) {
                    missing.add(metric + " (in " + expr + ")");
                    continue;
                }
                checked++;
                Matcher sel = MATCHER.matcher(expr.substring(m.end()));
                if (sel.lookingAt()) {
                    Map.Entry<String, String> want = Map.entry(sel.group(1), sel.group(2));
                    if (samples.stream().noneMatch(s -> want.getValue().equals(s.labels().get(want.getKey())))) {
                        missing.add(metric + "{" + want.getKey() + "=\"" + want.getValue() + "\"}");
                    }
                }
            }
        }
        for (String expr : exprs) {
            Set<String> metrics = new LinkedHashSet<>();
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                metrics.add(m.group());
            }
            Matcher by = BY.matcher(expr);
            while (by.find()) {
                for (String label : by.group(1).split(",")) {
                    String l = label.trim();
                    boolean found = metrics.stream().anyMatch(name -> parsed.named(name).stream().anyMatch(x -> x.labels().containsKey(l)));
                    if (!l.isEmpty() && !found) {
                        missing.add("label " + l + " (in " + expr + ")");
                    }
                }
            }
        }
        System.out.println("[dashboard] " + exprs.size() + " queries, " + checked + " metric uses found in the exposition");
        assertTrue(missing.isEmpty(), "the dashboard queries what /metrics does not have: " + missing);
        assertTrue(checked >= 20, "checked " + checked);
    }
}
