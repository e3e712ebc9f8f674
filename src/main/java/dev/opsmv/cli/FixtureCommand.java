package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.opsmv.fixture.SourceFixture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "fixture", mixinStandardHelpOptions = true,
        description = "Creates the source stand-ins (drivers, milestones, calculations, claims, ledger) and fills them with generated data.")
final class FixtureCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--drivers", paramLabel = "N", defaultValue = "10000", description = "Drivers to generate (default ${DEFAULT-VALUE}).")
    long drivers;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed: the same seed gives the same data (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duplicate-claims", paramLabel = "K", defaultValue = "0",
            description = "Add K duplicate claims (same driver x milestone) on purpose.")
    int duplicateClaims;

    @Override
    public Integer call() throws Exception {
        SourceFixture.Spec spec = SourceFixture.Spec.of(drivers, seed).withDuplicateClaims(duplicateClaims);
        try (Connection c = connection.open()) {
            SourceFixture fixture = new SourceFixture(c);
            fixture.createTables();
            PrintWriter out = command.commandLine().getOut();
            Map<String, Long> counts = fixture.generate(spec, step -> {
                out.println("generating " + step + " …");
                out.flush();
            });
            counts.forEach((table, n) -> out.printf("%-22s %,12d rows%n", table, n));
            out.flush();
        }
        return ExitCode.OK;
    }
}
