package dev.opsmv.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.health.StatusPage;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Writes the status page `serve` shows at /status to a file, for an incident ticket: one self-contained HTML "
                + "file (no script, nothing fetched) with each MV's freshness against its thresholds and its refreshes of the last "
                + "7 days (docs/MONITORING.md#the-status-page).",
                "Exit codes: 0 written; 2 bad command line or FILE exists (give --force); 3 cannot connect or read."})
final class ReportCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--html", paramLabel = "FILE", required = true, description = "Write the page to FILE.")
    Path html;

    @Option(names = "--force", description = "Replace FILE when it exists.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.exists(html) && !force) {
            throw new CommandLine.ParameterException(spec.commandLine(), html + " exists; give --force to replace it, or another FILE");
        }
        String page;
        try (Connection c = connection.open()) {
            page = StatusPage.render(c, connection.spec().describe());
        }
        // written beside it then moved: a failure half-way never leaves a torn page in place of a good one
        Path dir = html.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".opsmv-report", ".html");
        try {
            Files.writeString(tmp, page, StandardCharsets.UTF_8);
            Files.move(tmp, html, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        out.println("report: " + html + " (" + page.length() / 1024 + " kB)");
        return ExitCode.OK;
    }
}
