package dev.opsmv.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** Issue 6: the README's first command, in small: the whole walk-through on its own embedded server. */
class DemoTest {

    @Test
    void demoRunsEveryStepAndEndsHealthyWithASpeedup() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            new Demo(new Demo.Options(3_000, 42, null, null, false, 0), out).run();
        }
        String text = buffer.toString(StandardCharsets.UTF_8);
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
