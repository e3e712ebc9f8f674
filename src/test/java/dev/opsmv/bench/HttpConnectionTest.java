package dev.opsmv.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.api.DriverMatrixService;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Deployed;

/** The benchmark's own HTTP client and load generator against the real endpoint. */
class HttpConnectionTest {
    @Test
    void keepAliveRequestsAndTheGeneratorsOwnCpuShare() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(300, Deployed.SHARED_SEED);
        try (ApiServer api = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            int port = api.start();
            try (HttpConnection http = new HttpConnection("127.0.0.1", port)) {
                HttpConnection.Response ok = http.get(ApiServer.DRIVER_MATRIX_PATH + "?limit=5");
                assertEquals(200, ok.status());
                assertEquals(DriverMatrixService.SOURCE_MV, ok.source());
                assertTrue(ok.length() > 0);
                // an error answer keeps the connection usable: the next request goes on the same one
                assertEquals(400, http.get(ApiServer.DRIVER_MATRIX_PATH + "?limit=0").status());
                assertEquals(404, http.get("/nowhere").status());
                assertEquals(200, http.get(ApiServer.DRIVER_MATRIX_PATH).status());
            }
            LoadGenerator.Result r = new LoadGenerator(port, java.util.List.of(ApiServer.DRIVER_MATRIX_PATH + "?limit=5", "/nowhere"))
                    .run(2, 1500);
            assertTrue(r.requests() > 10, r.toString());
            // every second request goes to /nowhere: 404 counts as an error
            assertTrue(Math.abs(r.errors() - r.requests() / 2) <= 2, r.toString());
            assertTrue(r.generatorCpu() > 0 && r.generatorCpu() < 1, r.toString());
            assertTrue(r.latency().n() == r.requests(), r.toString());
        }
    }
}
