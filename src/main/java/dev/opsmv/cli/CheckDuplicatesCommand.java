package dev.opsmv.cli;

import java.sql.Connection;
import java.util.concurrent.Callable;

import dev.opsmv.migrate.Changelog;
import dev.opsmv.migrate.Preflight;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "check-duplicates", mixinStandardHelpOptions = true,
        description = {"The runbook's Query 2: claims_cabinet grains (driver_id x milestone_value) with more than one claim, up to "
                + Preflight.MAX_LISTED + ".", "Exit 0 when there are none, 1 with the grains listed."})
final class CheckDuplicatesCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws Exception {
        try (Connection c = connection.open()) {
            Preflight.Duplicates d = new Preflight(c, Changelog.DEFAULT_SOURCE_SCHEMA).duplicateGrains();
            Reports.duplicates(command.commandLine().getOut(), "", Changelog.DEFAULT_SOURCE_SCHEMA + ".claims_cabinet", d);
            return d.any() ? ExitCode.PROBLEM : ExitCode.OK;
        }
    }
}
