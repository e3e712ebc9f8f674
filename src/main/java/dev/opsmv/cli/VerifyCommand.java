package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Callable;

import dev.opsmv.verify.Verifier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"The post-deployment checklist: indexes, MVs, health views, sizes, index bloat, last refreshes, the endpoint's "
                + "plan and timing, and the endpoint's typical query under --max-query-ms on the relation it would read. "
                + "One ✓/✗ line per item; a WARNING line (index bloat worth a `reindex`) fails nothing.",
                "Exit 0 no ✗, 1 any ✗, 2 bad option, 3 cannot connect."})
final class VerifyCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    Output output;

    /** Where the base indexes are expected: verify replays the changesets' DDL with this source_schema. */
    @Mixin
    SourceSchemaOption source;

    @Option(names = "--max-query-ms", paramLabel = "MS", defaultValue = "2000",
            description = "The endpoint's typical query (origin_tag=cabinet, default window) must take less than this on the relation "
                    + "the endpoint would read (the runbook: queries < 2 s; default ${DEFAULT-VALUE}).")
    double maxQueryMs;

    @Option(names = "--bloat-warn-percent", paramLabel = "P", defaultValue = "30",
            description = "WARNING when an MV index's estimated bloat is over P%% and over --bloat-warn-mb (default ${DEFAULT-VALUE}).")
    int bloatWarnPercent;

    @Option(names = "--bloat-warn-mb", paramLabel = "MB", defaultValue = "10",
            description = "WARNING when an MV index's estimated bloat is over this many MB and over --bloat-warn-percent (default ${DEFAULT-VALUE}).")
    long bloatWarnMb;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws SQLException {
        PrintWriter out = output.text();
        if (!(maxQueryMs > 0) || Double.isInfinite(maxQueryMs)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-query-ms must be a number of milliseconds above 0 (got " + maxQueryMs + ")");
        }
        if (bloatWarnPercent < 0 || bloatWarnPercent > 100 || bloatWarnMb < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--bloat-warn-percent must be 0..100 and --bloat-warn-mb 0 or more");
        }
        // open() fails with one line naming the cause and exit 3
        try (Connection c = connection.open()) {
            Verifier.Result result = new Verifier(c, new Verifier.Options(source.value(), maxQueryMs, bloatWarnPercent, bloatWarnMb), check -> {
                out.println(check.line());
                out.flush();
            }).run();
            int n = result.checks().size();
            long bad = result.failed();
            long warnings = result.warnings();
            String warned = warnings == 0 ? "" : ", " + warnings + " WARNING" + (warnings == 1 ? "" : "s");
            out.println(bad == 0 && warnings == 0 ? "verify: all " + n + " items ✓"
                    : bad == 0 ? "verify: no ✗ in " + n + " items" + warned
                    : "verify: " + bad + " of " + n + " items ✗" + warned);
            output.doc().put("database", connection.spec().describe()).put("failed", bad).put("warnings", warnings);
            output.doc().set("items", Output.tree(result.checks()));
            return output.done(bad == 0 ? ExitCode.OK : ExitCode.PROBLEM);
        }
    }
}
