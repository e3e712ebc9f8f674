package dev.opsmv.demo;

import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

import dev.opsmv.bench.Bench;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The whole product on a throw-away embedded PostgreSQL with generated data. */
public final class Demo {
    public record Options(long drivers, long seed, String pgVersion, Path keep) {
    }

    private final Options options;
    private final PrintStream out;

    public Demo(Options options, PrintStream out) {
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
                out.println("   " + scalar(c, "SELECT 'PostgreSQL ' || current_setting('server_version')") + " on port " + server.port());
                generate(c);

                out.println("== update: applying the bundle (changelog/db.changelog-master.yaml)");
                long u0 = System.nanoTime();
                Migrator.bundle(c, null).update();
                out.printf(Locale.ROOT, "   applied in %.1f s%n", (System.nanoTime() - u0) / 1e9);

                sideBySide(c);
            }
        }
        out.printf(Locale.ROOT, "== demo finished in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private void generate(Connection c) throws Exception {
        out.println("== generating " + String.format("%,d", options.drivers()) + " drivers (seed " + options.seed() + ")");
        SourceFixture fixture = new SourceFixture(c);
        fixture.createTables();
        Map<String, Long> counts;
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("   source data").setInitialMax(6)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(out))
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
        Bench.Query q = Bench.typicalQueries(SourceFixture.Spec.currentWeek()).get(1);
        out.println("== driver-matrix query (" + q.name() + "): plain view vs materialized view");
        double view = median(c, q.sql(Bench.VIEW), 5);
        double mv = median(c, q.sql(Bench.MV), 15);
        out.printf(Locale.ROOT, "   plain view  %9.2f ms%n   MV          %9.2f ms%n   speedup     %9.0fx%n", view, mv, view / mv);
    }

    private static double median(Connection c, String sql, int runs) throws Exception {
        Bench.timeOnce(c, sql);
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            ms[i] = Bench.timeOnce(c, sql);
        }
        Arrays.sort(ms);
        return ms[runs / 2];
    }

    private static boolean databaseExists(EmbeddedServer server, String name) throws Exception {
        try (Connection c = server.spec("postgres").open("opsmv-demo")) {
            return "1".equals(scalar(c, "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'"));
        }
    }

    private static String scalar(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
