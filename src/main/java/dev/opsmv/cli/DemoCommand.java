package dev.opsmv.cli;

import java.util.concurrent.Callable;

import dev.opsmv.demo.Demo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs the whole product on a throw-away embedded PostgreSQL with generated data.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Option(names = "--drivers", paramLabel = "N", defaultValue = "50000", description = "Drivers to generate (default ${DEFAULT-VALUE}).")
    long drivers;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Data seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--pg-version", paramLabel = "V", description = "PostgreSQL major: 14 (bundled), 16, 17 or 18 (binaries from the local Maven repository).")
    String pgVersion;

    @Option(names = "--keep", paramLabel = "DIR", description = "Keep the cluster's data directory here instead of a temporary one (reused on the next run).")
    java.nio.file.Path keep;

    @Option(names = "--serve", description = "After the walk-through, keep the driver-matrix endpoint up until Ctrl-C.")
    boolean serve;

    @Option(names = "--port", paramLabel = "P", defaultValue = "8000", description = "Port for --serve (default ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Override
    public Integer call() throws Exception {
        if (drivers < 1) {
            throw new IllegalArgumentException("--drivers must be at least 1 (got " + drivers + ")");
        }
        new Demo(new Demo.Options(drivers, seed, pgVersion, keep, serve, port), command.commandLine().getOut()).run();
        return ExitCode.OK;
    }
}
