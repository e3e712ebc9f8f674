package dev.opsmv.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.opsmv.testing.Cli;

/** Issue 6: the README's first command, in small: the whole walk-through on its own embedded server. */
class DemoTest {

    @Test
    void demoRunsEveryStepAndEndsHealthyWithASpeedup() throws Exception {
        // Through the command, in-process: everything the demo prints reaches the command's writer.
        Cli.Result r = Cli.run("demo", "--drivers", "3000", "--seed", "42");
        assertEquals(0, r.exitCode(), r.toString());
        String text = r.out();
        assertTrue(text.contains("source data"), "the progress bar too\n" + text);
        for (String step : new String[] {"== update", "== refresh --all", "== verify", "== health", "== demo finished"}) {
            assertTrue(text.contains(step), "missing step " + step + "\n" + text);
        }
        assertTrue(!text.contains("✗"), "verify reported a problem\n" + text);
        assertTrue(text.contains("overall: OK (exit 0)"), text);
        Matcher refreshed = Pattern.compile(" OK +CONCURRENTLY ").matcher(text);
        int ok = 0;
        while (refreshed.find()) {
            ok++;
        }
        assertTrue(ok == 7, "seven MVs refreshed CONCURRENTLY, got " + ok + "\n" + text);
        Matcher speedup = Pattern.compile("speedup +(\\d+)x").matcher(text);
        assertTrue(speedup.find() && Integer.parseInt(speedup.group(1)) > 1, "the MV is faster than the view\n" + text);
    }
}
