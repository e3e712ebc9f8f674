package dev.opsmv.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser for the Prometheus text exposition format 0.0.4 (the Java client has no parser):
 * HELP/TYPE lines, metric and label names by the naming rules, label-value escapes, float values,
 * every sample belonging to a family declared by TYPE before it, no duplicate series. Throws
 * {@link IllegalArgumentException} naming the line on the first violation.
 */
public final class PromText {
    private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
    private static final Pattern METRIC_NAME = Pattern.compile(NAME);
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") (.*)");
    private static final Pattern TYPE = Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)");
    private static final Pattern VALUE = Pattern.compile("[+-]?(?:Inf|NaN|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)");

    public record Sample(String name, Map<String, String> labels, double value) {
    }

    public record Parsed(Map<String, String> types, List<Sample> samples) {
        public List<Sample> named(String name) {
            return samples.stream().filter(s -> s.name.equals(name)).toList();
        }

        /** The one sample with this name whose labels include {@code labels}; fails when none or several. */
        public double value(String name, Map<String, String> labels) {
            List<Sample> hits = named(name).stream().filter(s -> s.labels.entrySet().containsAll(labels.entrySet())).toList();
            if (hits.size() != 1) {
                throw new AssertionError(hits.size() + " samples of " + name + labels + " (want 1)");
            }
            return hits.get(0).value;
        }
    }

    private PromText() {
    }

    public static Parsed parse(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("exposition must end with a newline");
        }
        Map<String, String> types = new LinkedHashMap<>();
        Set<String> helped = new HashSet<>();
        Set<String> closed = new HashSet<>();
        String current = null;
        List<Sample> samples = new ArrayList<>();
        Set<String> series = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length - 1; n++) {
            String line = lines[n];
            String where = "line " + (n + 1) + " '" + line + "': ";
            if (line.isEmpty()) {
                throw new IllegalArgumentException(where + "empty line");
            }
            if (line.startsWith("#")) {
                Matcher h = HELP.matcher(line);
                Matcher t = TYPE.matcher(line);
                if (line.startsWith("# HELP ")) {
                    if (!h.matches()) {
                        throw new IllegalArgumentException(where + "malformed HELP");
                    }
                    if (!helped.add(h.group(1))) {
                        throw new IllegalArgumentException(where + "second HELP for " + h.group(1));
                    }
                } else if (line.startsWith("# TYPE ")) {
                    if (!t.matches()) {
                        throw new IllegalArgumentException(where + "malformed TYPE");
                    }
                    if (types.containsKey(t.group(1))) {
                        throw new IllegalArgumentException(where + "second TYPE for " + t.group(1));
                    }
                    if (current != null) {
                        closed.add(current);
                    }
                    types.put(t.group(1), t.group(2));
                    current = t.group(1);
                }
                continue;
            }
            Sample s = sample(line, where);
            String family = family(s.name, types);
            if (family == null) {
                throw new IllegalArgumentException(where + "sample of an undeclared family (no # TYPE before it)");
            }
            if (closed.contains(family) || !family.equals(current)) {
                throw new IllegalArgumentException(where + "samples of " + family + " are not grouped under its TYPE line");
            }
            if ("histogram".equals(types.get(family)) && s.name.endsWith("_bucket") && !s.labels.containsKey("le")) {
                throw new IllegalArgumentException(where + "histogram bucket without le label");
            }
            if (!series.add(s.name + s.labels)) {
                throw new IllegalArgumentException(where + "duplicate series");
            }
            seen.merge(family, 1, Integer::sum);
            samples.add(s);
        }
        return new Parsed(types, samples);
    }

    private static String family(String name, Map<String, String> types) {
        if (types.containsKey(name) && !"histogram".equals(types.get(name))) {
            return name;
        }
        for (Map.Entry<String, String> e : types.entrySet()) {
            String f = e.getKey();
            List<String> suffixes = switch (e.getValue()) {
                case "counter" -> List.of("_total", "_created");
                case "histogram" -> List.of("_bucket", "_sum", "_count", "_created");
                case "summary" -> List.of("_sum", "_count", "_created");
                default -> List.of();
            };
            for (String suffix : suffixes) {
                if (name.equals(f + suffix)) {
                    return f;
                }
            }
            // The 1.x client declares counters by their _total name.
            if ("counter".equals(e.getValue()) && f.endsWith("_total") && name.equals(f.substring(0, f.length() - 6) + "_created")) {
                return f;
            }
        }
        return null;
    }

    private static Sample sample(String line, String where) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        if (!METRIC_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(where + "bad metric name '" + name + "'");
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (true) {
                if (i >= line.length()) {
                    throw new IllegalArgumentException(where + "unterminated label set");
                }
                if (line.charAt(i) == '}') {
                    i++;
                    break;
                }
                int eq = line.indexOf('=', i);
                if (eq < 0) {
                    throw new IllegalArgumentException(where + "label without '='");
                }
                String label = line.substring(i, eq);
                if (!LABEL_NAME.matcher(label).matches() || label.startsWith("__")) {
                    throw new IllegalArgumentException(where + "bad label name '" + label + "'");
                }
                if (eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException(where + "label value must be quoted");
                }
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; ; j++) {
                    if (j >= line.length()) {
                        throw new IllegalArgumentException(where + "unterminated label value");
                    }
                    char ch = line.charAt(j);
                    if (ch == '\\') {
                        char next = j + 1 < line.length() ? line.charAt(j + 1) : 0;
                        switch (next) {
                            case '\\' -> v.append('\\');
                            case '"' -> v.append('"');
                            case 'n' -> v.append('\n');
                            default -> throw new IllegalArgumentException(where + "bad escape in label value");
                        }
                        j++;
                    } else if (ch == '"') {
                        break;
                    } else {
                        v.append(ch);
                    }
                }
                if (labels.put(label, v.toString()) != null) {
                    throw new IllegalArgumentException(where + "label " + label + " repeated");
                }
                i = j + 1;
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                } else if (i >= line.length() || line.charAt(i) != '}') {
                    throw new IllegalArgumentException(where + "expected ',' or '}' after a label");
                }
            }
        }
        if (i >= line.length() || line.charAt(i) != ' ') {
            throw new IllegalArgumentException(where + "expected one space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ", -1);
        if (rest.length < 1 || rest.length > 2 || !VALUE.matcher(rest[0]).matches()) {
            throw new IllegalArgumentException(where + "bad value '" + line.substring(i + 1) + "'");
        }
        if (rest.length == 2 && !rest[1].matches("-?\\d+")) {
            throw new IllegalArgumentException(where + "bad timestamp '" + rest[1] + "'");
        }
        String raw = rest[0].replace("Inf", "Infinity");
        return new Sample(name, labels, Double.parseDouble(raw));
    }
}
