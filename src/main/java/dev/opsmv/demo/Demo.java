package dev.opsmv.demo;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/** The whole product on a throw-away embedded PostgreSQL with generated data. */
public final class Demo {
    public record Options(long drivers, long seed, String pgVersion) {
    }

    private final Options options;
    private final PrintStream out;

    public Demo(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    public void run() throws Exception {
        long t0 = System.nanoTime();
        out.println("== starting an embedded PostgreSQL" + (options.pgVersion() == null ? "" : " " + options.pgVersion()));
        try (EmbeddedServer server = EmbeddedServer.start(options.pgVersion(), null)) {
            server.createDatabase("opsmv_demo");
            ConnectionSpec spec = server.spec("opsmv_demo");
            try (Connection c = spec.open("opsmv-demo")) {
                out.println("   " + version(c) + " on port " + server.port());
                out.println("== generating " + String.format("%,d", options.drivers()) + " drivers (seed " + options.seed() + ")");
                SourceFixture fixture = new SourceFixture(c);
                fixture.createTables();
                Map<String, Long> counts = fixture.generate(SourceFixture.Spec.of(options.drivers(), options.seed()),
                        step -> out.println("   … " + step));
                counts.forEach((table, n) -> out.printf("   %-22s %,12d rows%n", table, n));

                out.println("== update: applying the bundle");
                long u0 = System.nanoTime();
                Migrator.bundle(c, null).update();
                out.printf("   applied in %.1f s%n", (System.nanoTime() - u0) / 1e9);
                printMaterializedViews(c);
            }
        }
        out.printf("== demo finished in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static String version(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('server_version')")) {
            rs.next();
            return "PostgreSQL " + rs.getString(1);
        }
    }

    private void printMaterializedViews(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT matviewname, ispopulated FROM pg_matviews WHERE schemaname = 'ops' ORDER BY 1")) {
            while (rs.next()) {
                long rows;
                try (Statement s2 = c.createStatement();
                     ResultSet r2 = s2.executeQuery("SELECT count(*) FROM ops." + rs.getString(1))) {
                    r2.next();
                    rows = r2.getLong(1);
                }
                out.printf("   %-42s populated=%-5s %,10d rows%n", rs.getString(1), rs.getBoolean(2), rows);
            }
        }
    }
}
