package dev.opsmv.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.opsmv.bench.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures plain view vs MV, refresh costs, readers during refreshes and writers during update, on an embedded PostgreSQL; prints a Markdown report.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Option(names = "--drivers", paramLabel = "N", defaultValue = "200000", description = "Drivers to generate (default ${DEFAULT-VALUE}).")
    long drivers;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Data seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--pg-version", paramLabel = "V", description = "PostgreSQL major: 14 (bundled), 16, 17 or 18.")
    String pgVersion;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the report here (e.g. docs/BENCHMARKS.md).")
    Path out;

    @Option(names = "--query-runs", paramLabel = "N", defaultValue = "60", description = "Timed runs per query on the MV (default ${DEFAULT-VALUE}).")
    int queryRuns;

    @Option(names = "--load-seconds", paramLabel = "S", defaultValue = "" + Bench.Options.DEFAULT_LOAD_SECONDS,
            description = "How long each line of sections 4 and 4b runs, in seconds (default ${DEFAULT-VALUE}; 0.25 for a quick check that "
                    + "every section runs: warm-ups and section 5's 5 s baseline are cut to a line's length).")
    double loadSeconds;

    @Option(names = "--only", paramLabel = "SECTIONS",
            description = "Only these sections, after the data and the deployment: 'endpoint' runs 4 and 4b (the endpoint under load, and against the JDBC floor); 'refresh' runs 2 (the MVs refreshed by each method, the chain swap against its floor); 'readers' runs 5 (readers during each kind of refresh).")
    String only;

    @Override
    public Integer call() throws Exception {
        // One log line per request would drown the report; slf4j-simple reads this at first use.
        System.setProperty("org.slf4j.simpleLogger.log.dev.opsmv.api", "warn");
        if (drivers < 1000) {
            throw new IllegalArgumentException("--drivers must be at least 1000 for meaningful figures (got " + drivers + ")");
        }
        if (queryRuns < 5) {
            throw new IllegalArgumentException("--query-runs must be at least 5 (got " + queryRuns + ")");
        }
        if (!(loadSeconds >= 0.1)) {
            throw new IllegalArgumentException("--load-seconds must be at least 0.1 (got " + loadSeconds + ")");
        }
        if (only != null && !only.equals("endpoint") && !only.equals("refresh") && !only.equals("readers")) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "--only takes 'endpoint', 'refresh' or 'readers' (got '" + only + "')");
        }
        new Bench(new Bench.Options(drivers, seed, pgVersion, out, queryRuns, only, loadSeconds), command.commandLine().getOut()).run();
        return ExitCode.OK;
    }
}
