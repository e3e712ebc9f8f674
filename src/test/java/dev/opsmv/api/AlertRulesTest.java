package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.PromText;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * docs/alerts/opsmv-rules.yaml against the real expositions: `health --format prometheus` on a deployed,
 * refreshed database, and GET /metrics of a running server that has answered driver-matrix requests from
 * both sources. Every metric a rule's expression selects must exist (health metrics in both expositions,
 * since either may be what Prometheus scrapes; HTTP metrics in serve's), with every label it matches on and
 * every value it matches with {@code =}.
 */
class AlertRulesTest {
    static final Path RULES = Path.of("docs/alerts/opsmv-rules.yaml");
    static final Set<String> AGGREGATIONS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile", "limitk", "limit_ratio");
    static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "atan2");
    static final Set<String> GROUPING = Set.of("by", "without", "on", "ignoring", "group_left", "group_right");

    static PromText.Parsed health;
    static PromText.Parsed serve;

    @BeforeAll
    static void expositions() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        assertEquals(0, Cli.run("refresh", "--url", Cli.url(db), "--all").exitCode());
        Cli.Result h = Cli.run("health", "--url", Cli.url(db), "--format", "prometheus");
        assertEquals(0, h.exitCode(), h.toString());
        health = PromText.parse(h.out());

        try (ApiServer server = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            HttpClient http = Http.CLIENT;
            assertEquals(200, get(http, base + ApiServer.DRIVER_MATRIX_PATH).statusCode());
            // One answer from the plain view too, so that the fallback rule's series exists.
            Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet WITH NO DATA");
            try {
                HttpResponse<String> fallback = get(http, base + ApiServer.DRIVER_MATRIX_PATH);
                assertEquals("view", fallback.headers().firstValue(ApiServer.SOURCE_HEADER).orElse(""), fallback.body());
            } finally {
                Sql.exec(db, "REFRESH MATERIALIZED VIEW ops.mv_payments_driver_matrix_cabinet");
            }
            serve = PromText.parse(get(http, base + "/metrics").body());
        }
    }

    @Test
    void everyRuleIsWellFormed() throws Exception {
        List<Map<String, Object>> rules = rules(load(Files.readString(RULES)));
        assertTrue(rules.size() >= 9, rules.size() + " rules");
        Set<String> names = new HashSet<>();
        for (Map<String, Object> rule : rules) {
            String alert = (String) rule.get("alert");
            assertTrue(alert != null && alert.matches("Opsmv[A-Za-z]+"), "alert name: " + rule);
            assertTrue(names.add(alert), "duplicate alert " + alert);
            assertTrue(rule.get("expr") instanceof String e && !e.isBlank(), alert + ": expr");
            if (rule.containsKey("for")) {
                assertTrue(String.valueOf(rule.get("for")).matches("\\d+[smh]"), alert + ": for " + rule.get("for"));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> labels = (Map<String, Object>) rule.get("labels");
            assertTrue(labels != null && Set.of("warning", "critical").contains(labels.get("severity")), alert + ": severity");
            @SuppressWarnings("unchecked")
            Map<String, Object> annotations = (Map<String, Object>) rule.get("annotations");
            assertTrue(annotations != null && annotations.get("summary") != null && annotations.get("description") != null, alert + ": annotations");
            assertTrue(rule.keySet().stream().allMatch(Set.of("alert", "expr", "for", "labels", "annotations")::contains), alert + ": " + rule.keySet());
        }
        // What the issue asks for, by the metric each one reads.
        Map<String, String> byAlert = new LinkedHashMap<>();
        rules.forEach(r -> byAlert.put((String) r.get("alert"), (String) r.get("expr")));
        assertTrue(byAlert.get("OpsmvMvStale").contains("opsmv_mv_warn_after_seconds"));
        assertTrue(byAlert.get("OpsmvMvLastRefreshFailed").contains("opsmv_mv_last_refresh_failed"));
        assertTrue(byAlert.get("OpsmvMvRefreshStuck").contains("opsmv_mv_refresh_stuck"));
        assertTrue(byAlert.get("OpsmvDriverMatrixSlow").matches("histogram_quantile\\(0\\.99, .*opsmv_http_request_duration_seconds_bucket.*\\) > 5"));
        assertTrue(byAlert.get("OpsmvDriverMatrixServedFromView").contains("source=\"view\""));
        assertTrue(byAlert.get("OpsmvReplayLagging").contains("opsmv_replay_lag_seconds"));
        assertTrue(byAlert.get("OpsmvReplayPaused").contains("opsmv_replay_paused"));
    }

    @Test
    void everyMetricLabelAndValueTheRulesSelectIsInTheRealExpositions() throws Exception {
        List<String> problems = problems(load(Files.readString(RULES)));
        assertEquals(List.of(), problems);
    }

    @Test
    void theCheckCatchesAMisspelledMetricLabelOrValue() throws Exception {
        String wrong = """
                groups:
                  - name: broken
                    rules:
                      - alert: OpsmvTypo
                        expr: opsmv_mv_agee_seconds > 0 and on (schema, mv) opsmv_mv_status{state="CRIT"} == 1
                      - alert: OpsmvValue
                        expr: sum(rate(opsmv_http_requests_total{source="plain_view"}[5m])) > 0
                """;
        List<String> problems = problems(load(wrong));
        assertTrue(problems.stream().anyMatch(p -> p.contains("opsmv_mv_agee_seconds")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("label 'state'")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("plain_view")), problems.toString());
        assertEquals(5, problems.size(), problems.toString()); // the first two in both expositions
    }

    @Test
    void selectorsAreReadFromPromql() {
        List<Selector> s = selectors("histogram_quantile(0.99, sum by (le, instance) (rate(a_bucket{endpoint=\"x\", b!~\"y\"}[5m]))) > 5 "
                + "and on (schema) max without (q) (b_total offset 1h) unless c == 1e3");
        assertEquals(List.of("a_bucket", "b_total", "c"), s.stream().map(Selector::metric).toList());
        assertEquals(Map.of("endpoint", "x"), s.get(0).equal());
        assertEquals(Set.of("endpoint", "b"), s.get(0).labels());
    }

    /** Everything a rules document selects that the expositions do not have, one sentence each. */
    static List<String> problems(Map<String, Object> doc) {
        List<String> problems = new ArrayList<>();
        for (Map<String, Object> rule : rules(doc)) {
            String alert = (String) rule.get("alert");
            List<Selector> selectors = selectors((String) rule.get("expr"));
            if (selectors.isEmpty()) {
                problems.add(alert + ": selects no metric");
            }
            for (Selector sel : selectors) {
                // HTTP metrics exist only where serve is scraped; health metrics must be in both expositions.
                List<PromText.Parsed> where = sel.metric().startsWith("opsmv_http_") ? List.of(serve) : List.of(health, serve);
                for (PromText.Parsed exposition : where) {
                    String source = exposition == serve ? "serve's /metrics" : "health --format prometheus";
                    List<PromText.Sample> samples = exposition.named(sel.metric());
                    if (samples.isEmpty()) {
                        problems.add(alert + ": metric " + sel.metric() + " is not in " + source);
                        continue;
                    }
                    for (String label : sel.labels()) {
                        if (samples.stream().noneMatch(x -> x.labels().containsKey(label))) {
                            problems.add(alert + ": " + sel.metric() + " has no label '" + label + "' in " + source);
                        }
                    }
                    for (Map.Entry<String, String> eq : sel.equal().entrySet()) {
                        if (samples.stream().noneMatch(x -> eq.getValue().equals(x.labels().get(eq.getKey())))
                                && samples.stream().anyMatch(x -> x.labels().containsKey(eq.getKey()))) {
                            problems.add(alert + ": no " + sel.metric() + "{" + eq.getKey() + "=\"" + eq.getValue() + "\"} in " + source);
                        }
                    }
                }
            }
        }
        return problems;
    }

    /** A metric selector of an expression: its name, the labels it matches on, and its = matchers. */
    record Selector(String metric, Set<String> labels, Map<String, String> equal) {
    }

    /**
     * The metric selectors of a PromQL expression: identifiers that are not functions, aggregations,
     * keywords or grouping label lists, with their {…} matchers. Strings, ranges and numbers are skipped.
     */
    static List<Selector> selectors(String expr) {
        List<Selector> out = new ArrayList<>();
        int n = expr.length();
        int i = 0;
        while (i < n) {
            char ch = expr.charAt(i);
            if (ch == '"' || ch == '\'' || ch == '`') {
                i = endOfString(expr, i);
            } else if (ch == '[') {
                i = expr.indexOf(']', i) + 1;
            } else if (Character.isDigit(ch) || ch == '.') {
                while (i < n && (Character.isLetterOrDigit(expr.charAt(i)) || expr.charAt(i) == '.')) {
                    i++;
                }
            } else if (Character.isLetter(ch) || ch == '_' || ch == ':') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(expr.charAt(j)) || expr.charAt(j) == '_' || expr.charAt(j) == ':')) {
                    j++;
                }
                String word = expr.substring(i, j);
                int k = j;
                while (k < n && expr.charAt(k) == ' ') {
                    k++;
                }
                boolean call = k < n && expr.charAt(k) == '(';
                if (GROUPING.contains(word)) {
                    i = call ? expr.indexOf(')', k) + 1 : j; // a list of label names, not metrics
                } else if (KEYWORDS.contains(word) || AGGREGATIONS.contains(word) || call) {
                    i = j;
                } else {
                    Set<String> labels = new LinkedHashSet<>();
                    Map<String, String> equal = new LinkedHashMap<>();
                    if (k < n && expr.charAt(k) == '{') {
                        j = matchers(expr, k, labels, equal);
                    }
                    out.add(new Selector(word, labels, equal));
                    i = j;
                }
            } else {
                i++;
            }
        }
        return out;
    }

    /** Reads {label op "value", …} from {@code open}; returns the index after the closing brace. */
    private static int matchers(String expr, int open, Set<String> labels, Map<String, String> equal) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*(,|})")
                .matcher(expr);
        int at = open + 1;
        while (true) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("cannot read the label matchers at " + expr.substring(open));
            }
            labels.add(m.group(1));
            if ("=".equals(m.group(2))) {
                equal.put(m.group(1), m.group(3));
            }
            at = m.end();
            if ("}".equals(m.group(4))) {
                return at;
            }
        }
    }

    private static int endOfString(String s, int open) {
        char q = s.charAt(open);
        int i = open + 1;
        while (i < s.length() && s.charAt(i) != q) {
            i += s.charAt(i) == '\\' && q != '`' ? 2 : 1;
        }
        return i + 1;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> rules(Map<String, Object> doc) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Map<String, Object>> groups = (List<Map<String, Object>>) doc.get("groups");
        assertTrue(groups != null && !groups.isEmpty(), "groups");
        for (Map<String, Object> g : groups) {
            assertTrue(g.get("name") instanceof String, "group name: " + g);
            out.addAll((List<Map<String, Object>>) g.get("rules"));
        }
        return out;
    }

    static Map<String, Object> load(String yaml) {
        return new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    }

    static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }
}
