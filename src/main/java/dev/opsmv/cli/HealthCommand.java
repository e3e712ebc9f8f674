package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.health.HealthCheck;
import dev.opsmv.health.HealthJson;
import dev.opsmv.health.HealthMetrics;
import dev.opsmv.health.HealthReport;
import dev.opsmv.health.HealthTable;
import dev.opsmv.health.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "health", mixinStandardHelpOptions = true,
        description = {"Freshness and state of every MV of ops.mv_refresh_policy. "
                + "Exit codes follow the Nagios plugin convention: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (cannot connect or query, "
                + "unknown --mv or --format, or any other command-line mistake: never 2, which a monitor reads as CRITICAL).",
                "The overall result is the worst row, except that a CRIT row of an MV whose is_critical is false (ops.mv_refresh_policy) "
                        + "counts as WARN: only critical MVs make the result CRIT (exit 2). The row itself still says CRIT."})
final class HealthCommand implements Callable<Integer> {
    private static final List<String> FORMATS = List.of("table", "json", "prometheus");

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--mv", paramLabel = "NAME", description = "Only this MV (name or schema.name).")
    String mv;

    // A plain String, checked here, so that the message names the valid formats; the exit code is
    // 3 (UNKNOWN) like every usage error of health (Main), never picocli's 2 (CRITICAL to a monitor).
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table",
            description = "table (default), json or prometheus (text exposition format).")
    String format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!FORMATS.contains(format)) {
            err.println("opsmv: UNKNOWN: --format must be one of " + String.join(", ", FORMATS) + " (got '" + format + "')");
            return Level.UNKNOWN.exitCode();
        }
        HealthReport report;
        try (Connection c = connection.open()) {
            report = HealthCheck.run(c, mv);
        } catch (HealthCheck.UnknownMv e) {
            err.println("opsmv: UNKNOWN: " + e.getMessage());
            return Level.UNKNOWN.exitCode();
        } catch (Exception e) {
            String why = Failures.oneLine(e);
            switch (format) {
                case "json" -> out.println(HealthJson.write(HealthJson.unknown(why)));
                case "prometheus" -> out.print(HealthMetrics.text(HealthMetrics.unknown()));
                default -> { }
            }
            out.flush();
            err.println("opsmv: UNKNOWN: cannot read health: " + why);
            return Level.UNKNOWN.exitCode();
        }
        switch (format) {
            case "json" -> out.println(HealthJson.write(HealthJson.document(report)));
            case "prometheus" -> out.print(HealthMetrics.text(HealthMetrics.registry(report)));
            default -> HealthTable.print(report, out);
        }
        out.flush();
        return report.overall().exitCode();
    }
}
