package dev.opsmv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Cli;
import dev.opsmv.testing.OpsmvProcess;

/** The packaged runner (target/opsmv.jar) as a process, for the *IT acceptance tests, or in-process where a process proves nothing more. */
final class Runner {
    private Runner() {
    }

    /** Runs {@code args --url <uri of db>}. */
    static OpsmvProcess.Result on(ConnectionSpec db, String... args) throws Exception {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.add("--url");
        all.add(Cli.urlForArgv(db));
        return run(all.toArray(String[]::new));
    }

    static OpsmvProcess.Result run(String... args) throws Exception {
        long t0 = System.nanoTime();
        OpsmvProcess.Result r = OpsmvProcess.jar().run(300, args);
        System.out.printf("opsmv %s -> exit %d in %d ms%n", String.join(" ", args), r.exitCode(), (System.nanoTime() - t0) / 1_000_000);
        return r;
    }

    /**
     * The same command in this JVM (Main.run, as the jar's main calls it): for checks where neither
     * argv, the environment nor the real process's exit status is the point, a JVM start saved.
     */
    static OpsmvProcess.Result inProcess(String... args) {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.run(args);
        System.out.printf("opsmv %s (in-process) -> exit %d in %d ms%n", String.join(" ", args), r.exitCode(), (System.nanoTime() - t0) / 1_000_000);
        return new OpsmvProcess.Result(r.exitCode(), r.out(), r.err());
    }

    /** {@link #inProcess} with {@code --url <uri of db>}. */
    static OpsmvProcess.Result inProcessOn(ConnectionSpec db, String... args) {
        Cli.Result r = Cli.on(db, args);
        return new OpsmvProcess.Result(r.exitCode(), r.out(), r.err());
    }

    static OpsmvProcess.Result ok(OpsmvProcess.Result r) {
        assertEquals(0, r.exitCode(), r.toString());
        return r;
    }

    /** Exit code as expected and stderr exactly one line "opsmv: …" containing each fragment. */
    static OpsmvProcess.Result fails(OpsmvProcess.Result r, int exitCode, String... fragments) {
        assertEquals(exitCode, r.exitCode(), r.toString());
        List<String> lines = r.stderr().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "exactly one line on stderr: " + r);
        assertTrue(lines.get(0).startsWith("opsmv: "), r.toString());
        for (String f : fragments) {
            assertTrue(lines.get(0).contains(f), "stderr should contain '" + f + "': " + r);
        }
        return r;
    }
}
