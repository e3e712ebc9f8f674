package dev.opsmv.cli;

import java.io.PrintWriter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code --format text|json}, the one output layer of the commands that speak JSON. In JSON, stdout
 * holds exactly one document per run, {@code "schema": "opsmv.<command>/1"} (docs/schemas/), with the
 * same exit code as text; the human lines a command prints while it works go to stderr instead.
 * A failure (an exception with its one line and exit code) still gives a document, with {@code error}.
 */
final class Output {
    enum Format { TEXT, JSON }

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--format", paramLabel = "text|json", defaultValue = "text", converter = FormatConverter.class,
            description = "text (default) or json: one JSON document on stdout (schema opsmv.<command>/1, docs/schemas/), "
                    + "progress on stderr, the same exit codes.")
    Format format = Format.TEXT;

    private ObjectNode document;
    private boolean written;

    boolean json() {
        return format == Format.JSON;
    }

    /** Where the command's human lines go: stdout in text, stderr in JSON (stdout holds only the document). */
    PrintWriter text() {
        return json() ? mixee.commandLine().getErr() : mixee.commandLine().getOut();
    }

    /** The document of this run; fields added in text mode are never written. */
    ObjectNode doc() {
        if (document == null) {
            document = JSON.createObjectNode();
            document.put("schema", schema(mixee));
        }
        return document;
    }

    /** A value (a record, a list of records) as JSON, its field names in snake_case. */
    static JsonNode tree(Object value) {
        return JSON.valueToTree(value);
    }

    /** Ends the run: in JSON writes the document with its exit code; returns {@code exitCode}. */
    int done(int exitCode) {
        if (json() && !written) {
            ObjectNode d = doc();
            d.put("exit_code", exitCode);
            d.put("ok", exitCode == ExitCode.OK);
            write(mixee.commandLine().getOut(), d);
            written = true;
        }
        return exitCode;
    }

    /**
     * Main's failure handlers: if the failing command asked for JSON, its document carries the error
     * (what was built before the failure stays in it). Usage errors picocli raises before the options
     * are read stay text only.
     */
    static void failed(CommandLine commandLine, int exitCode, String oneLine) {
        CommandSpec mixin = commandLine.getCommandSpec().mixins().get("output");
        if (mixin == null || !(mixin.userObject() instanceof Output o) || !o.json() || o.written) {
            return;
        }
        o.doc().put("error", oneLine);
        o.done(exitCode);
    }

    private static String schema(CommandSpec spec) {
        return "opsmv." + spec.name() + "/1";
    }

    private static void write(PrintWriter out, JsonNode doc) {
        try {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc));
            out.flush();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            try {
                return Format.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of text, json");
            }
        }
    }
}
