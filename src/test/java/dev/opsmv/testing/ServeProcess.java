package dev.opsmv.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * `opsmv serve` as a real process: started, its first stdout line ("opsmv serve: listening on
 * http://127.0.0.1:PORT …") read, its stderr drained in the background. The tests that run serve share it.
 */
public final class ServeProcess {
    private static final Pattern LISTENING = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final BufferedReader stdout;
    private final CompletableFuture<String> stderr;
    private final String firstLine;

    private ServeProcess(Process process) throws IOException {
        this.process = process;
        this.stderr = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(stderr unreadable: " + e + ")";
            }
        });
        this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.firstLine = stdout.readLine();
    }

    /** Starts {@code serve args…} with {@code runner} and reads its first line of stdout. */
    public static ServeProcess start(OpsmvProcess runner, String... args) throws IOException {
        String[] argv = new String[args.length + 1];
        argv[0] = "serve";
        System.arraycopy(args, 0, argv, 1, args.length);
        return new ServeProcess(runner.start(argv));
    }

    /** The runner from the test classpath with {@code db} in the libpq variables (the password in PGPASSWORD). */
    public static OpsmvProcess runner(dev.opsmv.db.ConnectionSpec db) {
        OpsmvProcess runner = OpsmvProcess.classpath()
                .env("PGHOST", db.host()).env("PGPORT", Integer.toString(db.port()))
                .env("PGDATABASE", db.database()).env("PGUSER", db.user());
        if (db.hasPassword()) {
            runner.env("PGPASSWORD", db.passwordForChildEnvironment());
        }
        return runner;
    }

    /** The first line serve printed on stdout (null if it printed none). */
    public String firstLine() {
        return firstLine;
    }

    /** The port of the first line; fails the test when the line names none. */
    public int port() {
        Matcher m = LISTENING.matcher(String.valueOf(firstLine));
        assertTrue(m.find(), String.valueOf(firstLine));
        return Integer.parseInt(m.group(1));
    }

    /** The rest of stdout (the access log). */
    public BufferedReader stdout() {
        return stdout;
    }

    public Process process() {
        return process;
    }

    /** Everything serve wrote on stderr, once it has exited (waits at most {@code seconds}). */
    public String stderr(long seconds) throws Exception {
        return stderr.get(seconds, TimeUnit.SECONDS);
    }
}
