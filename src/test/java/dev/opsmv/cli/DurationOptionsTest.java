package dev.opsmv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/** Issue 14: every duration option takes the same grammar; `update --lock-timeout 5m` was refused while refresh took it. */
class DurationOptionsTest {
    @Test
    void updateAndRefreshBothTakeFiveMinutesAsFiveM() {
        ConnectionSpec db = Deployed.fixtureDatabase(200, Deployed.SHARED_SEED, 0);
        Cli.Result script = Cli.run("update-sql", "--lock-timeout", "5m", "--url", Cli.url(db));
        assertEquals(ExitCode.OK, script.exitCode(), script.toString());
        assertTrue(script.out().contains("SET lock_timeout = '5min';"), "the runner's value, as PostgreSQL reads it");
        assertTrue(!script.out().contains("lock_timeout = '5s'"), "and no other");

        Cli.Result update = Cli.run("update", "--lock-timeout", "5m", "--url", Cli.url(db));
        assertEquals(ExitCode.OK, update.exitCode(), update.toString());
        assertTrue(update.out().contains("last tag " + Releases.LAST), update.toString());

        Cli.Result refresh = Cli.run("refresh", "--all", "--lock-timeout", "5m", "--statement-timeout", "2min", "--url", Cli.url(db));
        assertEquals(ExitCode.OK, refresh.exitCode(), refresh.toString());
        assertEquals(7, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE status = 'OK' AND run_id IS NOT NULL"), "one OK row per MV from the refresh");
    }

    @Test
    void aBadDurationIsExit2AndOneLineOnEveryCommand() {
        ConnectionSpec db = Deployed.fixtureDatabase(50, Deployed.SHARED_SEED, 0);
        String injection = "5s'; DROP TABLE public.drivers; --";
        for (List<String> argv : List.of(
                List.of("update", "--lock-timeout", injection),
                List.of("update", "--lock-timeout", "5"),
                List.of("update-sql", "--lock-timeout", "0"),
                List.of("refresh", "--all", "--lock-timeout", injection),
                List.of("refresh", "--all", "--wait", "soon"),
                List.of("serve", "--statement-timeout", "5 seconds"))) {
            List<String> withUrl = new java.util.ArrayList<>(argv);
            withUrl.addAll(List.of("--url", Cli.url(db)));
            Cli.Result r = Cli.run(withUrl.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, r.exitCode(), argv + ": " + r);
            List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), argv + ": " + r);
            assertTrue(lines.get(0).startsWith("opsmv: ") && lines.get(0).contains("is not a duration"), argv + ": " + r);
        }
        assertEquals(50, Sql.count(db, "SELECT count(*) FROM public.drivers"), "nothing ran");
    }
}
