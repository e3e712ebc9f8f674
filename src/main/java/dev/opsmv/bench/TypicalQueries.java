package dev.opsmv.bench;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.opsmv.api.ApiServer;
import dev.opsmv.api.DriverMatrixQuery;

/** The endpoint's typical requests, measured by the benchmark and timed by the demo. */
public final class TypicalQueries {
    public static final String MV = DriverMatrixQuery.MV;
    public static final String VIEW = DriverMatrixQuery.VIEW;

    /** One of the endpoint's typical requests: its query string, and the SQL the endpoint runs for it. */
    public record Query(String name, String queryString) {
        public DriverMatrixQuery parsed() {
            Map<String, List<String>> params = new LinkedHashMap<>();
            if (!queryString.isEmpty()) {
                for (String pair : queryString.split("&")) {
                    String[] kv = pair.split("=", 2);
                    params.put(kv[0], List.of(kv.length > 1 ? kv[1] : ""));
                }
            }
            return DriverMatrixQuery.parse(params, LocalDate.now(ZoneOffset.UTC));
        }

        public String sql(String relation) {
            return parsed().literalSql(relation);
        }

        public String path() {
            return ApiServer.DRIVER_MATRIX_PATH + (queryString.isEmpty() ? "" : "?" + queryString);
        }
    }

    private TypicalQueries() {
    }

    /** The three requests; the second (filtered, limit 50) is the one the targets name. */
    public static List<Query> of(LocalDate currentWeek) {
        return List.of(
                new Query("default filters (no parameters: last 8 weeks, limit 100)", ""),
                new Query("origin_tag + week_start_from, limit 50",
                        "origin_tag=cabinet&week_start_from=" + currentWeek.minusWeeks(8) + "&limit=50"),
                new Query("deep offset (origin_tag, 26 weeks, offset 5000)",
                        "origin_tag=cabinet&week_start_from=" + currentWeek.minusWeeks(26) + "&limit=50&offset=5000"));
    }

    /** The filtered request the targets and the readers use. */
    public static Query filtered(LocalDate currentWeek) {
        return of(currentWeek).get(1);
    }
}
