package dev.opsmv.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/**
 * Builders for the states tests start from: a fixture database, with or without the bundle.
 *
 * <p>Each state is built once per test JVM into a template database on that JVM's server; every request
 * gets its own {@code CREATE DATABASE … TEMPLATE} copy of it, so what a test does to its database stays
 * there. A copy holds the same catalog and rows as a build (the same generation, the same Liquibase
 * update) and takes a fraction of the time: on the suite's servers a build of the bundle cost 0.5–1.5 s,
 * a copy 0.05–0.3 s. What a copy does not carry over is database-level, and no build sets any of it: the
 * cumulative statistics counters (pg_stat_*) start at zero, ALTER DATABASE settings and the database's
 * ACL are not copied. Rows the build wrote (the deployment's refresh log, DATABASECHANGELOG) carry the
 * time of the build, minutes at most before the test.
 */
public final class Deployed {
    /**
     * The seed of tests whose outcome does not depend on which rows the fixture generated (they compare
     * with what they read at run time, or use rows of their own): one seed per size means one build.
     */
    public static final long SHARED_SEED = 1;

    private Deployed() {
    }

    /** A fresh database holding the source fixture with generated data (no bundle). */
    public static ConnectionSpec fixtureDatabase(long drivers, long seed, int duplicateClaims) {
        return Templates.copy(new State(drivers, seed, duplicateClaims, null, SourceFixture.Spec.currentWeek()));
    }

    /** A fresh fixture database with the whole bundle applied. */
    public static ConnectionSpec bundleDatabase(long drivers, long seed) {
        return Templates.copy(new State(drivers, seed, 0, State.WHOLE_BUNDLE, SourceFixture.Spec.currentWeek()));
    }

    /** A fresh fixture database with the bundle applied up to release {@code tag} (Liquibase's update-to-tag). */
    public static ConnectionSpec bundleDatabase(long drivers, long seed, String tag) {
        return Templates.copy(new State(drivers, seed, 0, tag, SourceFixture.Spec.currentWeek()));
    }

    public static Map<String, Long> counts(ConnectionSpec spec) throws SQLException {
        try (Connection c = spec.open()) {
            return new SourceFixture(c).counts();
        }
    }

    /**
     * One state a test can start from: the generated fixture, and the bundle applied to it up to
     * {@code release} (null: not at all). The anchor week is part of it: the fixture's dates follow it,
     * and a JVM running across a Monday midnight must not hand out last week's rows as this week's.
     */
    record State(long drivers, long seed, int duplicateClaims, String release, LocalDate anchorWeek) {
        static final String WHOLE_BUNDLE = "*";

        State fixtureOnly() {
            return new State(drivers, seed, duplicateClaims, null, anchorWeek);
        }

        /** Readable in pg_database, and an identifier that needs no quotes (63 bytes at most). */
        String templateName(String jvm) {
            String what = release == null ? "f" : WHOLE_BUNDLE.equals(release) ? "b"
                    : "t" + release.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "_");
            return "opsmv_tpl_" + jvm + "_" + what + "_" + drivers + "_" + seed + "_" + duplicateClaims
                    + "_" + anchorWeek.toString().replace("-", "");
        }
    }

    /** The templates this JVM has built, by state. */
    static final class Templates {
        private static final Map<State, String> BUILT = new HashMap<>();
        private static int copies;
        private static long buildMillis;
        private static long copyMillis;

        private Templates() {
        }

        static synchronized ConnectionSpec copy(State state) {
            String template = template(state);
            long t0 = System.nanoTime();
            ConnectionSpec copy = TestPostgres.copyOf(template);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            copies++;
            copyMillis += ms;
            System.out.printf("[opsmv tests] %s: copy of %s in %d ms (this JVM: %d copies of %d templates, %d ms building them, %d ms copying)%n",
                    copy.database(), template, ms, copies, BUILT.size(), buildMillis, copyMillis);
            return copy;
        }

        private static String template(State state) {
            String built = BUILT.get(state);
            if (built != null) {
                return built;
            }
            // the bundle goes onto a copy of the fixture's template: the states of one fixture share its generation
            String fixture = state.release() == null ? null : template(state.fixtureOnly());
            long t0 = System.nanoTime();
            String name = state.templateName(TestPostgres.jvmToken());
            ConnectionSpec spec = TestPostgres.createDatabase(name, fixture);
            try (Connection c = spec.open("opsmv-tests")) {
                if (fixture == null) {
                    SourceFixture generated = new SourceFixture(c);
                    generated.createTables();
                    generated.generate(new SourceFixture.Spec(state.drivers(), state.seed(), state.duplicateClaims(), state.anchorWeek()), s -> { });
                } else if (State.WHOLE_BUNDLE.equals(state.release())) {
                    Migrator.bundle(c, null).update();
                } else {
                    Migrator.bundle(c, null).updateToTag(state.release());
                }
            } catch (Exception e) {
                throw new IllegalStateException("cannot build template " + name + ": " + e.getMessage(), e);
            }
            TestPostgres.seal(name);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            buildMillis += ms;
            BUILT.put(state, name);
            System.out.printf("[opsmv tests] template %s built in %d ms (%s)%n",
                    name, ms, fixture == null ? "fixture generated" : "bundle applied to a copy of " + fixture);
            return name;
        }
    }
}
