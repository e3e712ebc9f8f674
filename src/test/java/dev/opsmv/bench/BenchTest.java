package dev.opsmv.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.opsmv.testing.Cli;

/**
 * The benchmark end to end at a small size (the figures mean nothing here): every scenario runs, in
 * the report's order, every target is reported once, SWAP is measured for the MVs nothing reads and
 * refused for the others, the whole chain is swapped together from its raw MV (section 2) with readers
 * of two of its MVs (section 5), readers and the load generator saw no error.
 */
class BenchTest {
    @TempDir
    Path dir;

    @Test
    void everyScenarioRunsAndTheReportHasEverySectionAndTarget() throws Exception {
        Path out = dir.resolve("BENCHMARKS.md");
        List<String> argv = new ArrayList<>(List.of("bench", "--drivers", "2000", "--query-runs", "5",
                // the figures mean nothing here: a quarter of a second per load line (and per warm-up) still runs every one of them
                "--load-seconds", "0.25", "--out", out.toString()));
        String version = System.getProperty("opsmv.pg.version", "");
        if (!version.isBlank()) {
            argv.addAll(List.of("--pg-version", version));
        }
        Cli.Result r = Cli.run(argv.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.toString());
        String md = Files.readString(out);
        int at = -1;
        for (String heading : List.of("## Targets", "## 1. ", "## 1b. ", "## 2. ", "## 3. ", "## 4. ", "## 4b. ", "## 5. ", "## 6. ", "## 7. ", "## How to reproduce")) {
            int next = md.indexOf(heading);
            assertTrue(next > at, heading + " missing or out of order\n" + md);
            at = next;
        }
        for (Target t : Target.values()) {
            assertEquals(1, count(md, "| " + t.promise + " | "), t.promise + "\n" + md);
        }
        assertEquals(4, count(md, "| — (read by other MVs) |"), md);
        assertTrue(md.contains("| ops.mv_payments_driver_matrix_cabinet | "), md);
        List<String> refresh = section(md, "## 2. ");
        List<String> chainRow = refresh.stream().filter(l -> l.startsWith("| **chain** |")).toList();
        assertEquals(1, chainRow.size(), md);
        String[] chainCells = chainRow.get(0).split("\\|");
        assertTrue(chainCells[6].trim().matches("chain swap: [0-9.]+"), "the chain swap is measured: " + chainRow.get(0));
        assertTrue(chainCells[9].trim().matches("[0-9.]+x"), "and set against the floor plus indexes: " + chainRow.get(0));
        assertEquals(1, refresh.stream().filter(l -> l.startsWith("Target: " + Target.CHAIN_SWAP.promise + " → measured ")).count(), md);
        assertTrue(refresh.stream().anyMatch(l -> l.startsWith("The chain swap (ops.mv_yango_payments_raw_current with ") && l.contains("build ")
                && l.contains("swap transaction: waited ")), "where the chain swap's time goes: " + md);
        assertTrue(refresh.stream().anyMatch(l -> l.startsWith("What `refresh --all` (`--method auto`) chooses") && l.contains("The chain refreshed that way: ")),
                "what auto does with the chain: " + md);
        List<String> load = section(md, "## 4. ").stream().filter(l -> l.matches("\\| (on|off) \\| (1|8|32) \\|.*")).toList();
        assertEquals(6, load.size(), "1, 8 and 32 clients with the response cache on and off: " + md);
        for (String row : load) {
            String[] cells = row.split("\\|");
            assertEquals("0", cells[4].trim(), "no request failed: " + row);
            assertTrue(cells[10].trim().endsWith("%"), "the generator's CPU share is printed: " + row);
        }
        List<String> floor = section(md, "## 4b. ").stream().filter(l -> l.startsWith("| JDBC floor |") || l.startsWith("| `serve` |")).toList();
        assertEquals(4, floor.size(), md);
        for (String row : floor) {
            String[] cells = row.split("\\|");
            assertEquals("0", cells[4].trim(), "no error: " + row);
            assertTrue(Double.parseDouble(cells[5].trim()) > 0, "a throughput: " + row);
        }
        List<String> parts = section(md, "## 4b. ").stream().filter(l -> l.startsWith("| the endpoint's statement (JDBC) |")
                || l.startsWith("| the endpoint without HTTP (in process) |") || l.startsWith("| HTTP alone (`/livez`, no database) |")).toList();
        assertEquals(4, parts.size(), "where a request's time goes (HTTP alone at 1 and 8 clients): " + md);
        for (String row : parts) {
            assertEquals("0", row.split("\\|")[4].trim(), "no error: " + row);
        }
        List<String> issue27 = section(md, "## 4b. ").stream().filter(l -> l.startsWith("| `serve`, ") || l.startsWith("| `serve --cache-staleness")).toList();
        assertEquals(8, issue27.size(), "cache hits at 1 and 8 clients (and with --cache-staleness), 304s, CSV, keyset page 1, a deep keyset page, "
                + "the same by offset: " + md);
        for (String row : issue27) {
            String[] cells = row.split("\\|");
            assertEquals("0", cells[4].trim(), "no error (a 304 where one is expected): " + row);
            assertTrue(Double.parseDouble(cells[5].trim()) > 0, "a throughput: " + row);
        }
        assertTrue(floor.get(3).matches("\\| `serve` \\| 8 \\|.*\\| \\*\\*\\d+%\\*\\* \\|"), "the ratio at 8 clients is the headline: " + floor.get(3));
        assertTrue(md.matches("(?s).*the cached filtered request.*\\d+\\.\\d requests per check here.*"),
                "what the exact cache's checks cost under load is printed (from serve's own opsmv_cache_checks_total): " + md);
        List<String> readers = section(md, "## 5. ").stream().filter(l -> l.startsWith("| CONCURRENTLY |") || l.startsWith("| plain |")
                || l.startsWith("| SWAP |") || l.startsWith("| chain swap |")).toList();
        assertEquals(4, readers.size(), md);
        for (String row : readers) {
            String[] cells = row.split("\\|");
            assertEquals("0", cells[4].trim(), "no reader error: " + row);
            assertTrue(cells[7].trim().endsWith("%") && cells[8].trim().endsWith("%"), "what the readers cost is printed: " + row);
        }
        assertTrue(readers.get(3).contains("ops.mv_yango_payments_ledger_latest: "), "readers of the chain's middle MV: " + readers.get(3));
        assertTrue(md.contains("the built-in keep-alive generator"), "the report says which generator measured the load");
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    private static List<String> section(String md, String heading) {
        String from = md.substring(md.indexOf(heading));
        int end = from.indexOf("\n## ", 1);
        return (end < 0 ? from : from.substring(0, end)).lines().toList();
    }
}
