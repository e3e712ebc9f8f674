package dev.opsmv.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.health.StatusPage;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Sql;

/**
 * Issue 28 item 3: /status and `report --html` rendered by Debian's headless chromium (installed by the build,
 * .ci/browser/install.sh): no console error, nothing fetched, one chart mark per logged refresh of the last 7 days,
 * a failed refresh in the failure colour, the levels in their colours.
 */
class StatusPageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    static ChromeDriver browser() {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI=true and no /usr/bin/chromium + /usr/bin/chromedriver: .ci/browser/install.sh should have installed them");
        }
        Assumptions.assumeTrue(present, "no Debian chromium here (.ci/browser/install.sh installs it as root)");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        return driver;
    }

    /** Loads the page and checks it as a person would see it; returns the marks drawn. */
    static int check(ChromeDriver driver, String url, long expectedMarks) {
        driver.get(url);
        List<LogEntry> severe = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).toList();
        assertEquals(List.of(), severe, "console errors");
        Object fetched = ((JavascriptExecutor) driver).executeScript("return performance.getEntriesByType('resource').length");
        assertEquals(0L, ((Number) fetched).longValue(), "the page fetches nothing: it works offline");
        List<WebElement> marks = driver.findElements(By.cssSelector("svg#refresh-chart circle.mark"));
        assertEquals(expectedMarks, marks.size(), "one mark per logged refresh of the last 7 days");
        List<WebElement> failed = driver.findElements(By.cssSelector("svg#refresh-chart circle.mark.failed"));
        assertTrue(!failed.isEmpty(), "the failed refreshes are drawn");
        for (WebElement f : failed) {
            assertEquals("rgb(198, 40, 40)", f.getCssValue("fill"), "a failed refresh in the failure colour " + StatusPage.FAILURE_COLOUR);
        }
        WebElement ok = driver.findElements(By.cssSelector("svg#refresh-chart circle.mark.ok")).get(0);
        assertEquals("rgb(46, 125, 50)", ok.getCssValue("fill"));
        WebElement crit = driver.findElement(By.cssSelector("tr[data-mv='ops.mv_zz_stale'] td.CRIT"));
        assertEquals("rgba(198, 40, 40, 1)", crit.getCssValue("background-color"), "a CRIT MV in the failure colour");
        return marks.size();
    }

    @Test
    void theStatusPageAndTheReportRenderInARealBrowser() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(200, Deployed.SHARED_SEED);
        // a week of hourly refreshes of the driver matrix, every 13th failed, older rows outside the window,
        // and an MV of the policy left stale for 3 days (CRIT)
        Sql.exec(db, "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method, error_message) "
                        + "SELECT 'ops', 'mv_payments_driver_matrix_cabinet', now() - i * interval '1 hour', now() - i * interval '1 hour' + interval '3 seconds', "
                        + "3000 + i * 10, CASE WHEN i % 13 = 0 THEN 'ERROR' ELSE 'OK' END, 'SWAP', CASE WHEN i % 13 = 0 THEN 'canceling statement due to lock timeout' END "
                        + "FROM generate_series(1, 200) i",
                "CREATE MATERIALIZED VIEW ops.mv_zz_stale AS SELECT 1 AS id",
                "INSERT INTO ops.mv_refresh_policy (schema_name, mv_name, is_critical, warn_after_hours, crit_after_hours) VALUES ('ops', 'mv_zz_stale', true, 1, 2)",
                "DELETE FROM ops.mv_refresh_log WHERE mv_name = 'mv_zz_stale'",
                "INSERT INTO ops.mv_refresh_log (schema_name, mv_name, refresh_started_at, refresh_finished_at, duration_ms, status, method) "
                        + "VALUES ('ops', 'mv_zz_stale', now() - interval '3 days', now() - interval '3 days', 10, 'OK', 'PLAIN')");
        long inWindow = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE refresh_started_at > now() - interval '7 days' AND status <> 'RUNNING'");
        assertTrue(inWindow > 150, "rows in the window: " + inWindow);

        ChromeDriver driver = browser();
        try (ApiServer server = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            System.out.println("[status] /status: " + check(driver, base + "/status", inWindow) + " marks, no console error, nothing fetched");

            Path file = Files.createTempDirectory("opsmv-report").resolve("incident.html");
            Cli.Result r = Cli.on(db, "report", "--html", file.toString());
            assertEquals(0, r.exitCode(), r.toString());
            check(driver, file.toUri().toString(), inWindow);
            Cli.Result again = Cli.on(db, "report", "--html", file.toString());
            assertEquals(2, again.exitCode(), "an existing file is not overwritten without --force: " + again);
            assertEquals(0, Cli.on(db, "report", "--html", file.toString(), "--force").exitCode());
        } finally {
            driver.quit();
        }
    }

    @Test
    void theApiDocsRenderOfflineInARealBrowser() throws Exception {
        ConnectionSpec db = Deployed.bundleDatabase(100, Deployed.SHARED_SEED);
        ChromeDriver driver = browser();
        try (ApiServer server = new ApiServer(db, ApiConfig.defaults().withPort(0))) {
            String base = "http://127.0.0.1:" + server.start();
            driver.get(base + "/docs");
            // Swagger UI renders the page from /openapi.json after load: wait for its title
            WebElement title = null;
            for (int i = 0; i < 200 && title == null; i++) {
                title = driver.findElements(By.cssSelector(".swagger-ui .info .title")).stream().findFirst().orElse(null);
                if (title == null) {
                    Thread.sleep(100);
                }
            }
            assertTrue(title != null, "Swagger UI rendered nothing in 20 s: " + driver.getPageSource().substring(0, 300));
            assertTrue(title.getText().startsWith("opsmv serve"), title.getText());
            assertTrue(!driver.findElements(By.cssSelector(".opblock-summary-path[data-path='/api/v1/ops/payments/driver-matrix']")).isEmpty()
                    || driver.getPageSource().contains("/api/v1/ops/payments/driver-matrix"), "the endpoint is listed");
            List<LogEntry> severe = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                    .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).toList();
            assertEquals(List.of(), severe, "console errors");
            @SuppressWarnings("unchecked")
            List<String> fetched = (List<String>) ((JavascriptExecutor) driver).executeScript(
                    "return performance.getEntriesByType('resource').map(e => e.name)");
            for (String url : fetched) {
                assertTrue(url.startsWith(base + "/"), "fetched from elsewhere: " + url);
            }
            System.out.println("[docs] rendered offline: " + fetched);
        } finally {
            driver.quit();
        }
    }
}
