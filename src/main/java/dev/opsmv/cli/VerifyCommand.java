package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.verify.Verifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "The post-deployment checklist: indexes, MVs, health views, sizes, last refreshes, the endpoint's plan and timing. "
                + "One ✓/✗ line per item. Exit 0 all ✓, 1 any ✗, 3 cannot connect.")
final class VerifyCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--source-schema", paramLabel = "SCHEMA", defaultValue = "public",
            description = "Schema of the source tables (the changelog parameter source_schema; default ${DEFAULT-VALUE}).")
    String sourceSchema;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws SQLException {
        PrintWriter out = spec.commandLine().getOut();
        // open() fails with one line naming the cause and exit 3
        try (Connection c = connection.open()) {
            List<Verifier.Item> items = new Verifier(c, sourceSchema, item -> {
                out.println(item.line());
                out.flush();
            }).run();
            long bad = items.stream().filter(i -> !i.ok()).count();
            out.println(bad == 0 ? "verify: all " + items.size() + " items ✓"
                    : "verify: " + bad + " of " + items.size() + " items ✗");
            return bad == 0 ? ExitCode.OK : ExitCode.PROBLEM;
        }
    }
}
