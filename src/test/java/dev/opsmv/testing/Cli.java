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

    /**
     * A postgres:// URI for --url. In-process only: the password (if the test server has one) is in the
     * URI, which never reaches a real process's argv here.
     */
    public static String url(ConnectionSpec spec) {
        String user = URLEncoder.encode(spec.user(), StandardCharsets.UTF_8);
        String pass = spec.hasPassword() ? ":" + URLEncoder.encode(spec.passwordForChildEnvironment(), StandardCharsets.UTF_8) : "";
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
