package dev.opsmv.demo;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.bench.Stats;
import dev.opsmv.bench.TypicalQueries;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Session;
import dev.opsmv.db.Timing;
import dev.opsmv.embedded.EmbeddedServer;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.health.HealthCheck;
import dev.opsmv.health.HealthReport;
import dev.opsmv.health.HealthTable;
import dev.opsmv.migrate.Migrator;
import dev.opsmv.refresh.RefreshEngine;
import dev.opsmv.verify.Verifier;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The whole product on a throw-away embedded PostgreSQL with generated data. */
public final class Demo {
    public record Options(long drivers, long seed, String pgVersion, Path keep, boolean serve, int port) {
    }

    private final Options options;
    private final PrintWriter out;

    public Demo(Options options, PrintWriter out) {
        this.options = options;
        this.out = out;
    }

    public void run() throws Exception {
        long t0 = System.nanoTime();
        out.println("== starting an embedded PostgreSQL" + (options.pgVersion() == null ? "" : " " + options.pgVersion())
                + (options.keep() == null ? " (temporary cluster, removed on exit)" : " (data kept in " + options.keep() + ")"));
        try (EmbeddedServer server = EmbeddedServer.start(options.pgVersion(), options.keep())) {
            if (!databaseExists(server, "opsmv_demo")) {
                server.createDatabase("opsmv_demo");
            }
            ConnectionSpec spec = server.spec("opsmv_demo");
            try (Connection c = spec.open("opsmv-demo")) {
                out.println("   " + Session.text(c, "SELECT 'PostgreSQL ' || current_setting('server_version')") + " on port " + server.port());
                generate(c);

                out.println("== update: applying the bundle (changelog/db.changelog-master.yaml)");
                long u0 = System.nanoTime();
                Migrator migrator = Migrator.bundle(c, null).quiet();
                int pending = migrator.pendingChangeSets().size();
                migrator.update();
                out.printf(Locale.ROOT, "   %d changesets applied in %.1f s%n", pending, (System.nanoTime() - u0) / 1e9);

                refresh(spec);
                verify(c);
                health(c);
                sideBySide(c);
            }
            out.printf(Locale.ROOT, "== demo finished in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            if (options.serve()) {
                serve(spec);
            }
        }
    }

    /** What cron runs every hour: every MV in dependency order, logged in ops.mv_refresh_log. */
    private void refresh(ConnectionSpec spec) throws Exception {
        out.println("== refresh --all: dependency order from the catalog; per MV SWAP, CONCURRENTLY or PLAIN (--method auto)");
        RefreshEngine.Result result = new RefreshEngine(spec, RefreshEngine.Options.defaults(), line -> { })
                .run(List.of(), true, false, () -> false);
        for (RefreshEngine.Outcome o : result.outcomes()) {
            out.printf(Locale.ROOT, "   %-44s %-7s %-13s %8d ms %,10d rows%n", o.mv(), o.status(),
                    o.method() == null ? "" : o.method(), o.millis(), o.rows() == null ? 0 : o.rows());
        }
        if (result.failed()) {
            throw new IllegalStateException("refresh failed on the demo database (see the rows above)");
        }
    }

    private void verify(Connection c) throws Exception {
        out.println("== verify: the post-deployment checklist");
        Verifier.Result result = new Verifier(c, "public", check -> out.println("   " + check.line())).run();
        if (!result.allOk()) {
            throw new IllegalStateException("verify found a problem on the demo database (see the ✗ lines above)");
        }
    }

    private void health(Connection c) throws Exception {
        out.println("== health");
        HealthReport report = HealthCheck.run(c);
        HealthTable.print(report, out);
        out.flush();
    }

    /** Keeps the endpoint up on the demo database until Ctrl-C; the cluster is removed afterwards. */
    private void serve(ConnectionSpec spec) throws Exception {
        try (ApiServer api = new ApiServer(spec, ApiConfig.defaults().withPort(options.port()))) {
            int port = api.start();
            String week = SourceFixture.Spec.currentWeek().minusWeeks(4).toString();
            out.println("== serving the driver-matrix endpoint until Ctrl-C:");
            out.println("   curl -s 'http://127.0.0.1:" + port + ApiServer.DRIVER_MATRIX_PATH
                    + "?origin_tag=cabinet&week_start_from=" + week + "&limit=5'");
            out.println("   curl -s http://127.0.0.1:" + port + "/health");
            out.println("   curl -s http://127.0.0.1:" + port + "/metrics");
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "opsmv-demo-stop"));
            stopped.await();
        }
    }

    private void generate(Connection c) throws Exception {
        out.println("== generating " + String.format("%,d", options.drivers()) + " drivers (seed " + options.seed() + ")");
        SourceFixture fixture = new SourceFixture(c);
        fixture.createTables();
        Map<String, Long> counts;
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("   source data").setInitialMax(6)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new WriterConsumer(out))
                .setUpdateIntervalMillis(250).build()) {
            counts = fixture.generate(SourceFixture.Spec.of(options.drivers(), options.seed()), step -> {
                if (bar.getCurrent() > 0 || !"drivers".equals(step)) {
                    bar.step();
                }
                bar.setExtraMessage(step);
            });
            bar.stepTo(bar.getMax());
        }
        counts.forEach((table, n) -> out.printf("   %-22s %,12d rows%n", table, n));
    }

    /** The endpoint's typical query on the plain view and on the MV, timed side by side. */
    private void sideBySide(Connection c) throws Exception {
        TypicalQueries.Query q = TypicalQueries.filtered(SourceFixture.Spec.currentWeek());
        out.println("== driver-matrix query (" + q.name() + "): plain view vs materialized view");
        double view = Stats.of(Timing.runs(c, q.sql(TypicalQueries.VIEW), 2, 5)).median();
        double mv = Stats.of(Timing.runs(c, q.sql(TypicalQueries.MV), 2, 15)).median();
        out.printf(Locale.ROOT, "   plain view  %9.2f ms%n   MV          %9.2f ms%n   speedup     %9.0fx%n", view, mv, view / mv);
    }

    private static boolean databaseExists(EmbeddedServer server, String name) throws Exception {
        try (Connection c = server.spec("postgres").open("opsmv-demo")) {
            return "1".equals(Session.text(c, "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'"));
        }
    }

    /** The progress bar on the demo's own writer (the command's), redrawn in place like the console one. */
    private static final class WriterConsumer implements me.tongfei.progressbar.ProgressBarConsumer {
        private final PrintWriter out;

        WriterConsumer(PrintWriter out) {
            this.out = out;
        }

        @Override
        public int getMaxRenderedLength() {
            return 80;
        }

        @Override
        public void accept(String rendered) {
            out.print('\r');
            out.print(rendered);
            out.flush();
        }

        @Override
        public void close() {
            out.println();
            out.flush();
        }
    }
}
