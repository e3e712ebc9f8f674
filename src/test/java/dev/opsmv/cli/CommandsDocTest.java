package dev.opsmv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Issue 29: docs/COMMANDS.md cannot drift from the runner. Walks picocli's model (the command line
 * {@link Main#run} executes) and fails naming each command or option {@code --help} has that the page
 * lacks, and each one the page names that the runner no longer has; the exit-code table must be
 * {@link ExitCode}'s constants with the meanings {@code opsmv --help} prints.
 */
class CommandsDocTest {
    static final Path DOC = Path.of("docs", "COMMANDS.md");
    private static final Pattern OPTION = Pattern.compile("(?<![\\w-])--[a-z][a-z0-9-]*");
    private static final Pattern POSITIONAL = Pattern.compile("^`([A-Z][A-Z_]*)…?`");

    static String doc() throws IOException {
        return Files.readString(DOC, StandardCharsets.UTF_8);
    }

    /** The lines under the heading {@code heading} (exact text), up to the next heading of its level or above. */
    static List<String> section(List<String> lines, String heading) {
        int level = heading.indexOf(' ');
        List<String> out = null;
        for (String line : lines) {
            if (out == null) {
                if (line.equals(heading)) {
                    out = new ArrayList<>();
                }
            } else if (line.startsWith("#") && line.indexOf(' ') > 0 && line.indexOf(' ') <= level && line.substring(0, line.indexOf(' ')).chars().allMatch(c -> c == '#')) {
                break;
            } else {
                out.add(line);
            }
        }
        return out;
    }

    /** Every subcommand of the runner, depth first, by qualified name without "opsmv ". */
    static Map<String, CommandSpec> commands() {
        Map<String, CommandSpec> all = new LinkedHashMap<>();
        collect(Main.commandLine(), all);
        return all;
    }

    private static void collect(CommandLine c, Map<String, CommandSpec> into) {
        for (CommandLine sub : c.getSubcommands().values()) {
            CommandSpec s = sub.getCommandSpec();
            if (s.parent() == c.getCommandSpec() && !s.usageMessage().hidden()) {
                into.put(s.qualifiedName().substring("opsmv ".length()), s);
                collect(sub, into);
            }
        }
    }

    @Test
    void everyCommandAndOptionOfHelpIsOnThePageAndNothingElse() throws IOException {
        List<String> lines = doc().lines().toList();
        List<String> problems = new ArrayList<>();
        Map<String, CommandSpec> commands = commands();

        // the overview table: one row per command
        List<String> overview = section(lines, "## Every command");
        assertTrue(overview != null, "docs/COMMANDS.md has no '## Every command' section");
        Set<String> listed = new LinkedHashSet<>();
        for (String line : overview) {
            Matcher m = Pattern.compile("^\\| `([a-z][a-z-]*)` \\|").matcher(line);
            if (m.find()) {
                listed.add(m.group(1));
            }
        }
        for (String name : commands.keySet()) {
            if (!listed.contains(name)) {
                problems.add("command '" + name + "' has no row in the table of '## Every command'");
            }
        }
        for (String name : listed) {
            if (!commands.containsKey(name)) {
                problems.add("'## Every command' lists '" + name + "', which is not a command of opsmv");
            }
        }

        // one section per command, with a row per option of its --help
        List<String> reference = section(lines, "## Options, command by command");
        assertTrue(reference != null, "docs/COMMANDS.md has no '## Options, command by command' section");
        Set<String> sections = new LinkedHashSet<>();
        for (String line : reference) {
            Matcher m = Pattern.compile("^### `([a-z][a-z -]*)`$").matcher(line);
            if (m.find()) {
                sections.add(m.group(1));
            }
        }
        for (String name : sections) {
            if (!commands.containsKey(name)) {
                problems.add("section '### `" + name + "`' documents a command opsmv does not have");
            }
        }
        for (Map.Entry<String, CommandSpec> e : commands.entrySet()) {
            String name = e.getKey();
            List<String> body = section(reference, "### `" + name + "`");
            if (body == null) {
                problems.add("command '" + name + "' has no section '### `" + name + "`' under '## Options, command by command'");
                continue;
            }
            Set<String> documented = new LinkedHashSet<>();
            Set<String> documentedPositionals = new LinkedHashSet<>();
            for (String line : body) {
                if (!line.startsWith("| `")) {
                    continue;
                }
                // the first cell of an options table's row (a pipe inside it is written \|)
                String cell = line.split("(?<!\\\\)\\|")[1].strip();
                Matcher o = OPTION.matcher(cell);
                while (o.find()) {
                    documented.add(o.group());
                }
                Matcher p = POSITIONAL.matcher(cell);
                if (p.find()) {
                    documentedPositionals.add(p.group(1));
                }
            }
            Set<String> actual = new LinkedHashSet<>();
            for (OptionSpec o : e.getValue().options()) {
                if (o.hidden() || o.usageHelp() || o.versionHelp()) {
                    continue;
                }
                for (String n : o.names()) {
                    if (n.startsWith("--")) {
                        actual.add(n);
                        if (!documented.contains(n)) {
                            problems.add(name + " " + n + ": in `opsmv " + name + " --help`, missing from its table in docs/COMMANDS.md");
                        }
                    }
                }
            }
            for (String n : documented) {
                if (!actual.contains(n)) {
                    problems.add(name + " " + n + ": in docs/COMMANDS.md, but `opsmv " + name + " --help` has no such option");
                }
            }
            Set<String> positionals = new LinkedHashSet<>();
            for (PositionalParamSpec p : e.getValue().positionalParameters()) {
                if (!p.hidden()) {
                    String label = p.paramLabel().replaceAll("[<>]", "");
                    positionals.add(label);
                    if (!documentedPositionals.contains(label)) {
                        problems.add(name + " " + label + ": a parameter of `opsmv " + name + " --help`, missing from its table in docs/COMMANDS.md");
                    }
                }
            }
            for (String label : documentedPositionals) {
                if (!positionals.contains(label)) {
                    problems.add(name + " " + label + ": in docs/COMMANDS.md, but `opsmv " + name + " --help` has no such parameter");
                }
            }
        }
        String intro = String.join("\n", lines.subList(0, 6));
        if (!intro.contains("`--help`") || !intro.contains("`--version`")) {
            problems.add("the page's introduction must name --help and --version (every command has them)");
        }
        assertTrue(problems.isEmpty(), "docs/COMMANDS.md does not match `opsmv --help`:\n  " + String.join("\n  ", problems));
    }

    @Test
    void theExitCodeTableIsExitCodeAndWhatHelpPrints() throws Exception {
        List<String> table = section(doc().lines().toList(), "## Exit codes");
        assertTrue(table != null, "docs/COMMANDS.md has no '## Exit codes' section");
        Map<Integer, String> constants = new TreeMap<>();
        for (Field f : ExitCode.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                constants.put(f.getInt(null), f.getName());
            }
        }
        Map<Integer, String> docConstants = new TreeMap<>();
        Map<Integer, String> docMeanings = new TreeMap<>();
        Pattern row = Pattern.compile("^\\| (\\d+) \\| `([A-Z_]+)` \\| (.+) \\|$");
        for (String line : table) {
            Matcher m = row.matcher(line);
            if (m.find()) {
                int code = Integer.parseInt(m.group(1));
                docConstants.put(code, m.group(2));
                docMeanings.put(code, m.group(3));
            }
        }
        assertEquals(constants, docConstants, "docs/COMMANDS.md's exit-code table (code → ExitCode constant) vs cli.ExitCode");
        List<String> differ = new ArrayList<>();
        ExitCode.MEANINGS.forEach((code, meaning) -> {
            if (!meaning.equals(docMeanings.get(code))) {
                differ.add("exit " + code + ": docs/COMMANDS.md says '" + docMeanings.get(code) + "', ExitCode.MEANINGS (and --help) '" + meaning + "'");
            }
        });
        assertTrue(differ.isEmpty(), String.join("\n", differ));
        assertEquals(ExitCode.helpList(), Main.commandLine().getCommandSpec().usageMessage().exitCodeList(),
                "`opsmv --help` prints ExitCode.MEANINGS");
        assertTrue(constants.keySet().equals(ExitCode.MEANINGS.keySet()), "every ExitCode constant has a meaning: " + ExitCode.MEANINGS.keySet());
    }
}
