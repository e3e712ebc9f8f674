package dev.opsmv.cli;

import java.io.PrintWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.opsmv.refresh.RefreshEngine;
import dev.opsmv.refresh.RefreshInterruption;
import dev.opsmv.refresh.RefreshLoop;
import dev.opsmv.refresh.RefreshMode;
import dev.opsmv.refresh.RefreshPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "refresh", mixinStandardHelpOptions = true,
        description = {"Refreshes materialized views in dependency order, each in its own transaction, and logs every refresh "
                + "in ops.mv_refresh_log.",
                "Exit codes: 0 all OK; 1 an MV failed (ERROR) or was skipped because an upstream failed; 2 bad command line "
                        + "or unknown MV; 3 database unreachable or log missing; 5 an MV was busy (another runner holds its lock)."})
final class RefreshCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    Output output;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "MV", arity = "0..*", description = "MVs to refresh: mv_x (schema ops) or schema.mv_x.")
    List<String> names = new ArrayList<>();

    @Option(names = "--all", description = "Every MV of ops.mv_refresh_policy with refresh_enabled (the bundle's MVs).")
    boolean all;

    @Option(names = "--cascade", description = "Also every MV downstream of the named ones.")
    boolean cascade;

    @Option(names = "--method", paramLabel = "auto|concurrently|plain|swap", converter = MethodConverter.class,
            description = "auto (default): per MV, SWAP where nothing else reads it and this login owns it, else CONCURRENTLY "
                    + "where PostgreSQL allows it, else PLAIN with the reason logged (an unpopulated MV: PLAIN); "
                    + "concurrently: refuse (ERROR) an MV that cannot be refreshed concurrently; plain: PLAIN (blocks readers); "
                    + "swap: rebuild beside the serving MV and swap it in, refuse (ERROR) an MV that cannot be swapped.")
    RefreshMode method;

    @Option(names = "--concurrently", paramLabel = "auto|always|never", converter = ConcurrentlyConverter.class,
            description = "The older spelling of --method: auto = --method auto, always = --method concurrently, never = --method plain.")
    RefreshMode concurrently;

    @Option(names = "--statement-timeout", paramLabel = "D",
            description = "SET LOCAL statement_timeout in each refresh transaction (e.g. 30min).")
    Duration statementTimeout;

    @Option(names = "--lock-timeout", paramLabel = "D",
            description = "SET LOCAL lock_timeout in each refresh transaction (e.g. 10s); for a swap also the lock_timeout "
                    + "of its swap transaction (default 2s), the longest readers of the MV queue behind one attempt of it.")
    Duration lockTimeout;

    @Option(names = "--wait", paramLabel = "D",
            description = "When another runner refreshes an MV, wait up to D for it instead of reporting BUSY.")
    Duration wait;

    @Option(names = "--swap-space-limit", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "A swap (and a chain swap) builds the new MVs beside the serving ones: their size is needed free a second "
                    + "time. Above SIZE (e.g. 500MB, 2GB; pg_total_relation_size of what would be rebuilt) refresh CONCURRENTLY "
                    + "instead (PLAIN where PostgreSQL cannot), the reason logged. Default: no limit.")
    Long swapSpaceLimit;

    @Option(names = "--dry-run", description = "Print the plan (order, method and why) and change nothing.")
    boolean dryRun;

    @Option(names = "--no-prune", negatable = false,
            description = "Skip the refresh log's retention at the end of the run (by default each run ends with `opsmv prune`, "
                    + "bounded by --prune-budget).")
    boolean noPrune;

    @Option(names = "--prune-budget", paramLabel = "D", defaultValue = "10s",
            description = "How long the prune at the end of a run may take (default 10s); the rest goes at the next run.")
    Duration pruneBudget;

    @Option(names = "--every", paramLabel = "D",
            description = "Run in the foreground every D (e.g. 1h) until SIGTERM/Ctrl-C, which stops between MVs (exit 0).")
    Duration every;

    @Override
    public Integer call() throws Exception {
        if (names.isEmpty() && !all) {
            throw new CommandLine.ParameterException(spec.commandLine(), "name the MVs to refresh or use --all");
        }
        if (method != null && concurrently != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--method and --concurrently are two spellings of one choice: give only one (--method)");
        }
        if (every != null && output.json()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--format json writes one document per run; --every runs until stopped: use text (or json without --every from a scheduler)");
        }
        PrintWriter out = output.text();
        connection.requirePrimary();
        if (dryRun) {
            try (Connection c = connection.open()) {
                RefreshPlan plan = plan(c);
                plan.describe().forEach(out::println);
                output.doc().put("dry_run", true).set("plan", Output.tree(plan.steps()));
            }
            return output.done(ExitCode.OK);
        }
        RefreshEngine engine = new RefreshEngine(connection.spec(),
                new RefreshEngine.Options(mode(), statementTimeout, lockTimeout, wait, swapSpaceLimit), line -> out.println(line));
        if (every == null) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            int code;
            try (RefreshInterruption guard = RefreshInterruption.guard(connection.spec(), engine, stop, line -> {
                out.println(line);
                out.flush();
            })) {
                code = once(engine, stop, out);
            }
            return output.done(code);
        }
        try (Connection c = connection.open()) {
            plan(c); // bad names or a cycle end the command now, not in every run
        }
        RefreshLoop loop = new RefreshLoop();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("SIGTERM: stopping after the current materialized view");
            loop.requestStop();
            try {
                loop.awaitDone(Duration.ofHours(24));
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            out.flush();
            // A clean stop on request is success; without halt the JVM would report 143 for SIGTERM.
            Runtime.getRuntime().halt(ExitCode.OK);
        }, "opsmv-refresh-stop"));
        loop.run(every, stop -> once(engine, stop, out), line -> out.println(line));
        return ExitCode.OK;
    }

    private RefreshPlan plan(Connection c) throws Exception {
        try {
            return RefreshPlan.build(c, names, all, cascade, mode(), swapSpaceLimit);
        } catch (IllegalStateException cycle) {
            throw new CommandFailure(ExitCode.PROBLEM, cycle.getMessage());
        }
    }

    private int once(RefreshEngine engine, java.util.concurrent.atomic.AtomicBoolean stop, PrintWriter out) throws Exception {
        RefreshEngine.Result r;
        try {
            r = engine.run(names, all, cascade, stop::get);
        } catch (IllegalStateException cycle) {
            throw new CommandFailure(ExitCode.PROBLEM, cycle.getMessage());
        }
        long ok = r.outcomes().stream().filter(o -> o.status().equals("OK")).count();
        output.doc().put("dry_run", false).put("run_id", r.runId().toString()).put("stopped", r.stopped());
        output.doc().set("outcomes", Output.tree(r.outcomes()));
        output.doc().set("abandoned", Output.tree(r.abandoned().stream().map(a -> a.mv() + " (refresh log id " + a.refreshId() + ")").toList()));
        out.println("run " + r.runId() + ": " + ok + " OK of " + r.outcomes().size() + " planned"
                + (r.abandoned().isEmpty() ? "" : ", " + r.abandoned().size() + " abandoned run(s) marked"));
        if (!noPrune && !r.stopped()) {
            prune(out);
        }
        return r.failed() ? (r.lockTimedOut() ? ExitCode.LOCK_TIMEOUT : ExitCode.PROBLEM) : r.busy() ? ExitCode.BUSY : ExitCode.OK;
    }

    /** The retention at the end of a run: its own line; a failure of it never fails the refresh run. */
    private void prune(PrintWriter out) {
        try {
            dev.opsmv.retention.Prune.Result p = dev.opsmv.retention.Prune.run(connection.spec(),
                    new dev.opsmv.retention.Prune.Options(false, null, pruneBudget), line -> { });
            output.doc().putObject("prune").put("rows", p.rows()).put("millis", p.millis()).put("budget_spent", p.budgetSpent());
            out.println("prune: " + p.rows() + " row(s) of ops.mv_refresh_log past their retention deleted (" + p.millis() + " ms"
                    + (p.vacuumed() ? ", the log vacuumed" : "") + (p.budgetSpent() ? "; budget spent, the rest goes next run" : "")
                    + (p.anyBusy() ? "; an MV was busy, its rows go next run" : "") + ")");
        } catch (java.sql.SQLException e) {
            String line = "42883".equals(e.getSQLState())
                    ? "the database has no ops.opsmv_prune_batch (release v1.7): run `opsmv update`"
                    : Failures.oneLine(e);
            output.doc().putObject("prune").put("error", line);
            out.println("prune: skipped: " + line);
        }
    }

    private RefreshMode mode() {
        return method != null ? method : concurrently != null ? concurrently : RefreshMode.AUTO;
    }

    static final class MethodConverter implements CommandLine.ITypeConverter<RefreshMode> {
        @Override
        public RefreshMode convert(String value) {
            try {
                return RefreshMode.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of auto, concurrently, plain, swap");
            }
        }
    }

    static final class ConcurrentlyConverter implements CommandLine.ITypeConverter<RefreshMode> {
        @Override
        public RefreshMode convert(String value) {
            RefreshMode mode = RefreshMode.fromConcurrently(value.trim().toLowerCase(java.util.Locale.ROOT));
            if (mode == null) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of auto, always, never");
            }
            return mode;
        }
    }
}
