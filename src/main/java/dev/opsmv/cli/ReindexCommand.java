package dev.opsmv.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.refresh.Reindexer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "reindex", mixinStandardHelpOptions = true,
        description = {"Rebuilds the indexes of materialized views of schema ops with REINDEX TABLE CONCURRENTLY (PostgreSQL 12+): "
                + "readers are never blocked. One line per index with its size before and after. (The runbooks' "
                + "\"REINDEX MATERIALIZED VIEW\" is not PostgreSQL syntax: this is what it meant.)",
                "An MV whose refresh is running (its refresh lock is held) is not touched and reported BUSY; a refresh started "
                        + "during the reindex of its MV is BUSY in turn.",
                "Exit codes: 0 done; 2 bad command line or unknown MV; 3 cannot connect, PostgreSQL older than 12, or a REINDEX failed; "
                        + "4 lock timeout (the blocker is named); 5 an MV was busy."})
final class ReindexCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "MV", arity = "0..*", description = "MVs to rebuild: mv_x or ops.mv_x.")
    List<String> names = new ArrayList<>();

    @Option(names = "--all", description = "Every materialized view of schema ops.")
    boolean all;

    @Option(names = "--lock-timeout", paramLabel = "D",
            description = "Give up a rebuild whose lock wait (REINDEX CONCURRENTLY waits for every older transaction of the database) "
                    + "lasts longer than D (e.g. 30s); its half-built copies are dropped. Default: wait (no reader waits behind it).")
    Duration lockTimeout;

    @Override
    public Integer call() throws Exception {
        if (names.isEmpty() && !all) {
            throw new CommandLine.ParameterException(spec.commandLine(), "name the MVs to reindex or use --all");
        }
        PrintWriter out = spec.commandLine().getOut();
        connection.requirePrimary(); // an unreachable database or a standby is one line and exit 3 before anything else
        Reindexer.Result r;
        try {
            r = new Reindexer(connection.spec(), new Reindexer.Options(lockTimeout), line -> {
                out.println(line);
                out.flush();
            }).run(names, all);
        } catch (Reindexer.ServerTooOld e) {
            throw new CommandFailure(ExitCode.DATABASE, e.getMessage());
        }
        out.println("reindex: " + r.count(Reindexer.Status.OK) + " of " + r.outcomes().size() + " materialized view(s) rebuilt"
                + (r.any(Reindexer.Status.BUSY) ? ", " + r.count(Reindexer.Status.BUSY) + " busy" : "")
                + (r.any(Reindexer.Status.LOCK_TIMEOUT) ? ", " + r.count(Reindexer.Status.LOCK_TIMEOUT) + " lock timeout" : "")
                + (r.any(Reindexer.Status.ERROR) ? ", " + r.count(Reindexer.Status.ERROR) + " failed" : ""));
        if (r.any(Reindexer.Status.ERROR)) {
            return ExitCode.DATABASE;
        }
        if (r.any(Reindexer.Status.LOCK_TIMEOUT)) {
            return ExitCode.LOCK_TIMEOUT;
        }
        return r.any(Reindexer.Status.BUSY) ? ExitCode.BUSY : ExitCode.OK;
    }
}
