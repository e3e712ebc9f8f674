package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Migrator;
import dev.opsmv.migrate.Preflight;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "check-duplicates", mixinStandardHelpOptions = true,
        description = {"Duplicate grains (driver_id x milestone_value) of " + Preflight.CLAIMS_MV + ", checked on exactly the rows the MV "
                + "will hold (computed from the source tables through the MVs' own definitions, as the deployment's guard does), up to "
                + Preflight.MAX_LISTED + "; latent duplicates (filtered out today, e.g. PAID claims, entering if a payment is reversed) are "
                + "listed as a warning.",
                "--mv: the runbook's Query 2 as written, on the MV itself (a CONCURRENTLY refresh failing with 23505).",
                "Exit 0 when there are none (latent ones only warn), 1 with the grains listed."})
final class CheckDuplicatesCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceSchemaOption source;

    @Mixin
    Output output;

    @Option(names = "--mv", description = "Query 2 of the runbook on " + Preflight.CLAIMS_MV + " as it is now.")
    boolean onMv;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = output.text();
        try (Connection c = connection.open()) {
            Preflight preflight = new Preflight(c, source.value(), Migrator.bundle(c, null, source.parameter()));
            if (onMv) {
                List<Preflight.DuplicateGrain> rows = preflight.mvDuplicates();
                output.doc().put("checked", Preflight.CLAIMS_MV).put("on_mv", true).put("total", rows.size());
                output.doc().set("duplicates", Output.tree(rows));
                if (rows.isEmpty()) {
                    out.println("no duplicate grains in " + Preflight.CLAIMS_MV);
                    return output.done(ExitCode.OK);
                }
                out.println(rows.size() + " duplicate grain(s) in " + Preflight.CLAIMS_MV + " (Query 2):");
                out.printf("%12s %15s %16s%n", "driver_id", "milestone_value", "count_duplicates");
                for (Preflight.DuplicateGrain g : rows) {
                    out.printf("%12d %15d %16d%n", g.driverId(), g.milestoneValue(), g.claims());
                }
                return output.done(ExitCode.PROBLEM);
            }
            Preflight.Duplicates d = preflight.duplicateGrains();
            Reports.duplicates(out, "", Preflight.CLAIMS_MV + " (as computed from " + source.value() + ".claims_cabinet)", d);
            output.doc().put("checked", Preflight.CLAIMS_MV + " (as computed from " + source.value() + ".claims_cabinet)").put("on_mv", false);
            Reports.duplicatesJson(output.doc(), d);
            return output.done(d.any() ? ExitCode.PROBLEM : ExitCode.OK);
        }
    }
}
