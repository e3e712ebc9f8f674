package dev.opsmv.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import dev.opsmv.cli.Main;
import dev.opsmv.db.ConnectionSpec;

/** Runs a runner command in-process (Main.run) and captures its output and exit code. */
public final class Cli {
    private Cli() {
    }

    public record Result(int exitCode, String out, String err) {
        public String all() {
            return out + err;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    /** {@code args --url <url of db>} in-process, printed with its exit code, time and output. */
    public static Result on(ConnectionSpec db, String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--url";
        all[args.length + 1] = url(db);
        long t0 = System.nanoTime();
        Result r = run(all);
        System.out.printf("opsmv %s (in-process) -> exit %d in %d ms%n%s", String.join(" ", args), r.exitCode(),
                (System.nanoTime() - t0) / 1_000_000, r.all());
        return r;
    }

    /**
     * A postgres:// URI for --url. In-process only: the password (if the test server has one) is in the
     * URI, which never reaches a real process's argv here.
     */
    public static String url(ConnectionSpec spec) {
        return uri(spec, true);
    }

    /**
     * The same URI without the password, for a real process's argv (which {@code ps} shows): such a process
     * gets the password through PGPASSWORD ({@link OpsmvProcess#env}).
     */
    public static String urlForArgv(ConnectionSpec spec) {
        return uri(spec, false);
    }

    private static String uri(ConnectionSpec spec, boolean withPassword) {
        String user = URLEncoder.encode(spec.user(), StandardCharsets.UTF_8);
        String pass = withPassword && spec.hasPassword() ? ":" + URLEncoder.encode(spec.passwordForChildEnvironment(), StandardCharsets.UTF_8) : "";
        return "postgres://" + user + pass + "@" + spec.host() + ":" + spec.port() + "/" + spec.database();
    }

    /** A local port nothing listens on (bound, then released). */
    public static int deadPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
