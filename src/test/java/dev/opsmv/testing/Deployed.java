package dev.opsmv.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.fixture.SourceFixture;
import dev.opsmv.migrate.Migrator;

/** Builders for the states tests start from: a fixture database, with or without the bundle. */
public final class Deployed {
    private Deployed() {
    }

    /** A fresh database holding the source fixture with generated data (no bundle). */
    public static ConnectionSpec fixtureDatabase(long drivers, long seed, int duplicateClaims) {
        ConnectionSpec spec = TestPostgres.freshDatabase();
        try (Connection c = spec.open("opsmv-tests")) {
            SourceFixture fixture = new SourceFixture(c);
            fixture.createTables();
            fixture.generate(new SourceFixture.Spec(drivers, seed, duplicateClaims, SourceFixture.Spec.currentWeek()), s -> { });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return spec;
    }

    /** A fresh fixture database with the whole bundle applied. */
    public static ConnectionSpec bundleDatabase(long drivers, long seed) {
        ConnectionSpec spec = fixtureDatabase(drivers, seed, 0);
        try (Connection c = spec.open("opsmv-tests")) {
            Migrator.bundle(c, null).update();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return spec;
    }

    public static Map<String, Long> counts(ConnectionSpec spec) throws SQLException {
        try (Connection c = spec.open()) {
            return new SourceFixture(c).counts();
        }
    }
}
