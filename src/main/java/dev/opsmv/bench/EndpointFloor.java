package dev.opsmv.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.opsmv.api.ApiConfig;
import dev.opsmv.api.ApiServer;
import dev.opsmv.api.DriverMatrixQuery;
import dev.opsmv.api.DriverMatrixService;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Session;
import dev.opsmv.fixture.SourceFixture;

/**
 * Section 4b (issue 17): one request, the filtered one the targets name, three ways side by side: the JDBC
 * floor (threads running the same prepared statement in a loop over one pool, every row read: what the
 * database delivers to a Java client with nothing else to do), then `serve` under 1 and 8 keep-alive clients.
 * The headline is the endpoint's throughput as a share of the floor's at the same concurrency.
 */
final class EndpointFloor {
    private final Report report;
    private final PrintWriter log;

    EndpointFloor(Report report, PrintWriter log) {
        this.report = report;
        this.log = log;
    }

    /**
     * @param port       `serve` without its response cache: every request reads the database
     * @param cachedPort `serve` as it ships (cache on): the cached, 304 and CSV-cached lines
     */
    void run(ConnectionSpec db, int port, int cachedPort, Bench.Options options) throws Exception {
        long line = options.lineMillis();
        TypicalQueries.Query query = TypicalQueries.filtered(SourceFixture.Spec.currentWeek());
        log.println("== the endpoint against the JDBC floor: " + query.path());
        report.section("4b. The endpoint against the JDBC floor (`" + query.queryString() + "`, " + options.shownLoadSeconds() + " s per line; "
                        + "floor: the same query on the MV, prepared, every row read, over one HikariCP pool of " + ApiConfig.DEFAULT_POOL_SIZE
                        + "; endpoint: `serve` with its default pool through the lean keep-alive generator)",
                "| path | clients | requests | errors | per s | p50 ms | p99 ms | max ms | generator CPU | machine busy | endpoint ÷ floor |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        DriverMatrixQuery q = query.parsed();
        Run floor1;
        Run floor8;
        try (HikariDataSource pool = floorPool(db)) {
            floor(pool, q, 4, options.upToALine(2000)); // warm-up: connections, server-side statements, caches
            floor1 = floor(pool, q, 1, line);
            floor8 = floor(pool, q, 8, line);
        }
        // where a request's time goes, one client each: the endpoint's own statement over the endpoint's pool
        // settings (the freshness join on top of the floor's query), then the whole request minus HTTP
        Run statement1;
        Run service1;
        try (HikariDataSource pool = ApiServer.dataSource(db, ApiConfig.defaults(), "opsmv-bench-statement")) {
            String sql = DriverMatrixService.mvSql(q);
            DriverMatrixService service = new DriverMatrixService(pool, ApiConfig.defaults());
            loop(2, options.upToALine(2000), () -> readAll(pool, sql, q) + service.query(q).rows());
            statement1 = loop(1, line, () -> readAll(pool, sql, q));
            service1 = loop(1, line, () -> service.query(q).length());
        }
        // the HTTP round trip with no database behind it: what the generator and the server cost together
        LoadGenerator bare = new LoadGenerator(port, List.of("/livez"));
        bare.run(1, options.upToALine(1000));
        LoadGenerator.Result livez1 = bare.run(1, line);
        LoadGenerator.Result livez8 = bare.run(8, line);
        LoadGenerator load = new LoadGenerator(port, List.of(query.path()));
        load.run(4, options.upToALine(2000));
        LoadGenerator.Result http1 = load.run(1, line);
        LoadGenerator.Result http8 = load.run(8, line);

        row("JDBC floor", floor1);
        row("JDBC floor", floor8);
        row("the endpoint's statement (JDBC)", statement1);
        row("the endpoint without HTTP (in process)", service1);
        row("HTTP alone (`/livez`, no database)", 1, livez1.requests(), livez1.errors(), livez1.perSecond(), livez1.latency(),
                Measure.pct(livez1.generatorCpu()), livez1.machineBusy(), "");
        row("HTTP alone (`/livez`, no database)", 8, livez8.requests(), livez8.errors(), livez8.perSecond(), livez8.latency(),
                Measure.pct(livez8.generatorCpu()), livez8.machineBusy(), Measure.pct(livez8.perSecond() / floor8.perSecond()));
        double ratio1 = http1.perSecond() / floor1.perSecond();
        double ratio8 = http8.perSecond() / floor8.perSecond();
        row("`serve`", 1, http1.requests(), http1.errors(), http1.perSecond(), http1.latency(), Measure.pct(http1.generatorCpu()),
                http1.machineBusy(), Measure.pct(ratio1));
        row("`serve`", 8, http8.requests(), http8.errors(), http8.perSecond(), http8.latency(), Measure.pct(http8.generatorCpu()),
                http8.machineBusy(), "**" + Measure.pct(ratio8) + "**");

        // issue 27: the same request answered from the response cache, as a 304, as CSV; keyset pages against offset
        String etag = etag(cachedPort, query.path());
        LoadGenerator cached = new LoadGenerator(cachedPort, List.of(query.path()));
        cached.run(4, options.upToALine(1000));
        LoadGenerator.Result hit1 = cached.run(1, line);
        double checksBefore = checks(cachedPort);
        LoadGenerator.Result hit8 = cached.run(8, line);
        double hitsPerCheck = hit8.requests() / Math.max(1, checks(cachedPort) - checksBefore);
        LoadGenerator.Result notModified8 = new LoadGenerator(cachedPort, List.of(query.path()),
                "Accept: application/json\r\nIf-None-Match: " + etag + "\r\n", 304).run(8, line);
        LoadGenerator.Result csv8 = new LoadGenerator(port, List.of(query.path()), "Accept: text/csv\r\n", 200).run(8, line);
        // the same server but a check that began up to 10 ms before a request will do for it (--cache-staleness 10ms)
        LoadGenerator.Result relaxed8;
        try (ApiServer relaxed = new ApiServer(db, ApiConfig.defaults().withPort(0).withCache(ApiConfig.Cache.defaults().withStalenessMs(10)))) {
            LoadGenerator g = new LoadGenerator(relaxed.start(), List.of(query.path()));
            g.run(4, options.upToALine(1000));
            relaxed8 = g.run(8, line);
        }
        double hitRatio8 = hit8.perSecond() / floor8.perSecond();
        loadRow("`serve`, answer from the cache", hit1, Measure.pct(hit1.perSecond() / floor1.perSecond()));
        loadRow("`serve`, answer from the cache", hit8, "**" + Measure.pct(hitRatio8) + "**");
        loadRow("`serve --cache-staleness 10ms`, answer from the cache", relaxed8, Measure.pct(relaxed8.perSecond() / floor8.perSecond()));
        loadRow("`serve`, 304 (If-None-Match, from the cache)", notModified8, Measure.pct(notModified8.perSecond() / floor8.perSecond()));
        loadRow("`serve`, text/csv (no cache)", csv8, Measure.pct(csv8.perSecond() / floor8.perSecond()));
        Keyset keyset = keyset(db, port, options);
        loadRow("`serve`, keyset page 1 (no cache)", keyset.first, "");
        loadRow("`serve`, keyset page " + keyset.page + " (`after=`, no cache)", keyset.deep, "");
        loadRow("`serve`, offset page " + keyset.page + " (`offset=" + (keyset.page - 1) * KEYSET_LIMIT + "`, no cache)", keyset.offset, "");
        report.line("");
        String why = String.format(Locale.ROOT, "%.0f requests/s against %.0f queries/s of the floor at 8 clients (%s at 1 client); "
                        + "the generator took %s of the machine", http8.perSecond(), floor8.perSecond(), Measure.pct(ratio1), Measure.pct(http8.generatorCpu()));
        report.targetLine(Target.ENDPOINT_VS_FLOOR, ratio8 * 100, http8.errors() == 0, why);
        report.target(Target.ENDPOINT_VS_FLOOR, ratio8 * 100, http8.errors() == 0, why);
        report.targetLine(Target.ENDPOINT_P99_8, http8.latency().p99(), http8.errors() == 0, null);
        report.target(Target.ENDPOINT_P99_8, http8.latency().p99(), http8.errors() == 0, "the filtered request alone, 8 keep-alive clients");
        report.targetLine(Target.ENDPOINT_P50_1, http1.latency().median(), http1.errors() == 0, null);
        report.target(Target.ENDPOINT_P50_1, http1.latency().median(), http1.errors() == 0, "the filtered request alone, 1 keep-alive client");
        String hitWhy = String.format(Locale.ROOT, "%.0f requests/s from the cache against %.0f queries/s of the floor at 8 clients "
                        + "(each answer waits for a check of the MV that began after it arrived, one shared by the requests that arrive "
                        + "together: %.1f requests per check here); 304s: %.0f/s; with --cache-staleness 10ms (a check up to 10 ms old will do) %.0f/s, %s; "
                        + "HTTP alone with no database (/livez) %.0f/s, %s; the generator took %s of the machine",
                hit8.perSecond(), floor8.perSecond(), hitsPerCheck, notModified8.perSecond(),
                relaxed8.perSecond(), Target.CACHED_VS_FLOOR.shown(relaxed8.perSecond() / floor8.perSecond()),
                livez8.perSecond(), Target.CACHED_VS_FLOOR.shown(livez8.perSecond() / floor8.perSecond()), Measure.pct(hit8.generatorCpu()));
        report.targetLine(Target.CACHED_VS_FLOOR, hitRatio8, hit8.errors() == 0, hitWhy);
        report.target(Target.CACHED_VS_FLOOR, hitRatio8, hit8.errors() == 0, hitWhy);
        double deepRatio = keyset.deep.latency().median() / keyset.first.latency().median();
        String deepWhy = String.format(Locale.ROOT, "page %d by cursor %s ms, page 1 %s ms (median, 1 client, no cache); the same page by offset %s ms",
                keyset.page, Measure.f(keyset.deep.latency().median()), Measure.f(keyset.first.latency().median()),
                Measure.f(keyset.offset.latency().median()));
        report.targetLine(Target.KEYSET_DEEP_PAGE, deepRatio, keyset.deep.errors() == 0 && keyset.first.errors() == 0, deepWhy);
        report.target(Target.KEYSET_DEEP_PAGE, deepRatio, keyset.deep.errors() == 0 && keyset.first.errors() == 0, deepWhy);
        // not measured by this run: the code they describe is gone; where each figure comes from is said
        report.line("Before (not measured by this run): issue 17 measured the same request with wrk at 200,000 drivers on a machine like this one: "
                + "800 requests/s at 1 connection and 1,640 at 8, with a transaction of five round trips per request and a log line "
                + "written for each (pgbench ran the query 24,600 times a second at 8 clients, 7,300 at 1). Once the request was "
                + "one statement and streamed JSON, on the JDK HTTP server (docs/BENCHMARKS.md at commit d9ffef6): p50 0.87 ms at 1 client, "
                + "2,786 requests/s at 8 clients (34% of the JDBC floor), p99 7.77 ms. Since then `serve` runs on Jetty and the "
                + "statement is the page UNION ALL a head row with the freshness, instead of a join that sorted the page again.");
    }

    private void loadRow(String what, LoadGenerator.Result r, String ratio) {
        row(what, r.clients(), r.requests(), r.errors(), r.perSecond(), r.latency(), Measure.pct(r.generatorCpu()), r.machineBusy(), ratio);
    }

    static final int KEYSET_LIMIT = 50;

    /** Page 1, a deep page by cursor and the same page by offset, one client each, through `serve` without its cache. */
    private record Keyset(int page, LoadGenerator.Result first, LoadGenerator.Result deep, LoadGenerator.Result offset) {
    }

    private Keyset keyset(ConnectionSpec db, int port, Bench.Options options) throws Exception {
        long line = options.lineMillis();
        String filters = "origin_tag=cabinet&week_start_from=2000-01-03&limit=" + KEYSET_LIMIT;
        DriverMatrixQuery q = new TypicalQueries.Query("keyset", filters).parsed();
        long rows;
        String week;
        String driver;
        int page;
        try (Connection c = db.open("opsmv-bench-keyset")) {
            rows = Long.parseLong(Session.text(c, "SELECT count(*) FROM " + DriverMatrixQuery.MV
                    + " WHERE origin_tag = 'cabinet' AND week_start >= DATE '2000-01-03'"));
            page = (int) Math.max(2, Math.min(200, rows / KEYSET_LIMIT));
            try (PreparedStatement ps = c.prepareStatement("SELECT week_start::text, driver_id::text FROM " + DriverMatrixQuery.MV
                    + " WHERE origin_tag = 'cabinet' AND week_start >= DATE '2000-01-03' ORDER BY week_start DESC, driver_id OFFSET ? LIMIT 1")) {
                ps.setLong(1, (long) (page - 1) * KEYSET_LIMIT - 1);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    week = rs.getString(1);
                    driver = rs.getString(2);
                }
            }
        }
        String path = dev.opsmv.api.ApiServer.DRIVER_MATRIX_PATH + "?" + filters;
        String cursor = q.cursorAfter(java.time.LocalDate.parse(week), driver);
        LoadGenerator first = new LoadGenerator(port, List.of(path));
        LoadGenerator deep = new LoadGenerator(port, List.of(path + "&after=" + cursor));
        LoadGenerator offset = new LoadGenerator(port, List.of(path + "&offset=" + (page - 1) * KEYSET_LIMIT));
        first.run(1, options.upToALine(500));
        deep.run(1, options.upToALine(500));
        offset.run(1, options.upToALine(500));
        return new Keyset(page, first.run(1, line), deep.run(1, line), offset.run(1, line));
    }

    /** The checks of the MV `serve`'s cache has made so far (its /metrics, read outside any measurement). */
    private static double checks(int port) throws Exception {
        return outsideMeasurement(port, "/metrics").body().lines().filter(l -> l.startsWith("opsmv_cache_checks_total "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1)))
                .findFirst().orElseThrow(() -> new IllegalStateException("no opsmv_cache_checks_total on :" + port + "/metrics"));
    }

    /** The ETag `serve` gives the request (asked once, outside any measurement). */
    private static String etag(int port, String path) throws Exception {
        return outsideMeasurement(port, path).headers().firstValue("ETag").orElseThrow(() -> new IllegalStateException("no ETag on " + path));
    }

    /** One GET through the JDK's client, for what the report needs to know between lines (never under load). */
    private static java.net.http.HttpResponse<String> outsideMeasurement(int port, String path) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    /** A line measured in this JVM by {@link #loop}: no generator, no ratio. */
    private void row(String what, Run r) {
        row(what, r.clients, r.count, r.errors, r.perSecond(), r.latency, "-", r.machineBusy, "");
    }

    private void row(String what, int clients, int count, int errors, double perSecond, Stats s, String generator, double busy, String ratio) {
        report.row(what, Integer.toString(clients), Integer.toString(count), Integer.toString(errors),
                String.format(Locale.ROOT, "%.0f", perSecond), Measure.f(s.median()), Measure.f(s.p99()), Measure.f(s.max()),
                generator, Measure.pct(busy), ratio);
    }

    /** The floor's own pool: autocommit, statements prepared server-side from the first execution and planned once, nothing else. */
    static HikariDataSource floorPool(ConnectionSpec db) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("opsmv-bench-floor");
        hc.setJdbcUrl(db.jdbcUrl());
        java.util.Properties props = db.properties("opsmv-bench-floor");
        props.setProperty("prepareThreshold", "1");
        props.setProperty("assumeMinServerVersion", "10");
        // the endpoint's planning rule too, so that the floor is not slowed by what the endpoint avoids
        props.setProperty("options", ApiServer.GENERIC_PLANS);
        hc.setDataSourceProperties(props);
        hc.setMaximumPoolSize(ApiConfig.DEFAULT_POOL_SIZE);
        hc.setMinimumIdle(ApiConfig.DEFAULT_POOL_SIZE);
        hc.setAutoCommit(true);
        return new HikariDataSource(hc);
    }

    record Run(int clients, int count, int errors, double seconds, Stats latency, double machineBusy) {
        double perSecond() {
            return count / seconds;
        }
    }

    /** One unit of work of a loop: a query or a request without HTTP. */
    interface Action {
        /** @return something derived from what was read, so that the reads are not optimised away */
        long run() throws Exception;
    }

    /** {@code threads} threads, each borrowing a connection per execution, for {@code millis}: the floor. */
    static Run floor(HikariDataSource pool, DriverMatrixQuery q, int threads, long millis) throws InterruptedException {
        return loop(threads, millis, () -> readAll(pool, q.sql(DriverMatrixQuery.MV), q));
    }

    /** One execution of {@code sql} on a connection of {@code pool}, every value read. */
    static long readAll(HikariDataSource pool, String sql, DriverMatrixQuery q) throws SQLException {
        long sink = 0;
        try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            q.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                int columns = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    for (int i = 1; i <= columns; i++) {
                        Object v = rs.getObject(i);
                        sink += v == null ? 0 : 1;
                    }
                }
            }
        }
        return sink;
    }

    /** {@code threads} threads running {@code action} back to back for {@code millis}; a failed action counts as an error. */
    static Run loop(int threads, long millis, Action action) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        double[][] latencies = new double[threads][];
        int[] errors = new int[threads];
        long[] deadline = new long[1];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int me = t;
            Thread w = new Thread(() -> {
                double[] ms = new double[4096];
                int n = 0;
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long sink = 0;
                // at least one action each: a short line (a smoke run) still measures every thread
                do {
                    long t0 = System.nanoTime();
                    try {
                        sink += action.run();
                    } catch (Exception e) {
                        errors[me]++;
                    }
                    if (n == ms.length) {
                        ms = Arrays.copyOf(ms, n * 2);
                    }
                    ms[n++] = (System.nanoTime() - t0) / 1e6;
                } while (System.nanoTime() < deadline[0]);
                latencies[me] = Arrays.copyOf(ms, n);
                if (sink < 0) {
                    System.out.print(""); // keeps the reads from being optimised away
                }
            }, "opsmv-bench-floor-" + t);
            w.start();
            workers.add(w);
        }
        ready.await();
        long[] before = busy();
        long wall0 = System.nanoTime();
        deadline[0] = wall0 + millis * 1_000_000L;
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        double seconds = (System.nanoTime() - wall0) / 1e9;
        long[] after = busy();
        double[] all = Arrays.stream(latencies).flatMapToDouble(Arrays::stream).toArray();
        double share = after[1] - before[1] <= 0 ? Double.NaN : (double) (after[0] - before[0]) / (after[1] - before[1]);
        return new Run(threads, all.length, Arrays.stream(errors).sum(), seconds, Stats.of(all), share);
    }

    /** Busy and total jiffies of the machine (/proc/stat); zeros where there is no /proc. */
    private static long[] busy() {
        try {
            String[] f = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                long v = Long.parseLong(f[i]);
                total += v;
                if (i != 4 && i != 5) {
                    busy += v;
                }
            }
            return new long[] {busy, total};
        } catch (Exception e) {
            return new long[] {0, 0};
        }
    }
}
