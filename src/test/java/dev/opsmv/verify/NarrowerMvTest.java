package dev.opsmv.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.cli.ExitCode;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Http;
import dev.opsmv.testing.Sql;
import org.junit.jupiter.api.Test;

/**
 * Issue 25: production's MV imported narrower than the bundle's (a column the product reads is not in it).
 * Every part that reads such a column says so in one line, naming the MV and the column, instead of
 * failing at run time with PostgreSQL's error: the endpoint (400 for the filter that needs it), verify,
 * check-duplicates; health reads no MV column and works as before.
 */
class NarrowerMvTest {
    private static final HttpClient HTTP = Http.CLIENT;
    private static final String MATRIX = "ops.mv_payments_driver_matrix_cabinet";
    private static final String CLAIMS = "ops.mv_yango_cabinet_claims_for_collection";

    private static void noRawError(String text) {
        assertTrue(!text.contains("SQLSTATE") && !text.contains("ERROR:") && !text.contains("\tat "), text);
    }

    @Test
    void aDriverMatrixWithoutOriginTagIsNamedByTheEndpointAndVerify() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        String columns = String.join(", ", Sql.strings(db, "SELECT attname FROM pg_attribute WHERE attrelid = '" + MATRIX
                + "'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'origin_tag' ORDER BY attnum"));
        Sql.exec(db, "DROP MATERIALIZED VIEW " + MATRIX,
                "CREATE MATERIALIZED VIEW " + MATRIX + " AS SELECT " + columns + " FROM ops.v_payments_driver_matrix_cabinet",
                "CREATE UNIQUE INDEX ux_mv_payments_driver_matrix_cabinet_grain ON " + MATRIX + " (driver_id)",
                "CREATE INDEX idx_mv_payments_driver_matrix_cabinet_week ON " + MATRIX + " (week_start DESC, driver_id)");

        try (ApiServer server = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            int port = server.start();
            HttpResponse<String> filtered = get(port, ApiServer.DRIVER_MATRIX_PATH + "?origin_tag=cabinet");
            assertEquals(400, filtered.statusCode(), filtered.body());
            JsonNode error = new ObjectMapper().readTree(filtered.body());
            assertEquals("origin_tag", error.get("parameter").asText(), filtered.body());
            assertTrue(error.get("error").asText().startsWith(MATRIX + " has no column origin_tag"), filtered.body());
            assertEquals(1, error.get("error").asText().lines().count());
            noRawError(filtered.body());
            assertEquals(200, get(port, ApiServer.DRIVER_MATRIX_PATH).statusCode(), "a request without the filter is served");
            assertEquals(200, get(port, "/readyz").statusCode());
        }

        Cli.Result verify = Cli.on(db, "verify");
        assertEquals(ExitCode.PROBLEM, verify.exitCode(), verify.all());
        assertTrue(verify.out().lines().anyMatch(l -> l.contains("endpoint columns on the MV") && l.contains(MATRIX + " has no column origin_tag")),
                verify.out());
        assertTrue(verify.out().lines().anyMatch(l -> l.contains("endpoint query planned on an MV index")), "the endpoint checks ran without the filter");
        noRawError(verify.all());

        Cli.Result health = Cli.on(db, "health");
        assertNotEquals(ExitCode.DATABASE, health.exitCode(), health.all());
        noRawError(health.all());
    }

    @Test
    void aClaimsMvWithoutItsGrainIsNamedByCheckDuplicatesAndVerify() {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        Sql.exec(db, "DROP MATERIALIZED VIEW " + CLAIMS,
                "CREATE MATERIALIZED VIEW " + CLAIMS + " AS SELECT driver_id, claim_id, claim_status FROM ops.mv_claims_payment_status_cabinet");

        for (List<String> args : List.of(List.of("check-duplicates"), List.of("check-duplicates", "--mv"))) {
            Cli.Result r = Cli.on(db, args.toArray(String[]::new));
            assertEquals(ExitCode.PROBLEM, r.exitCode(), r.all());
            List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), r.all());
            assertTrue(lines.get(0).contains(CLAIMS + " has no column milestone_value"), r.all());
            noRawError(r.all());
        }
        Cli.Result verify = Cli.on(db, "verify");
        assertTrue(verify.out().lines().anyMatch(l -> l.contains("duplicate grains of " + CLAIMS) && l.contains("has no column milestone_value")),
                verify.out());
        noRawError(verify.all());
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return Http.get("http://127.0.0.1:" + port + path);
    }
}
