package dev.opsmv.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the opsmv runner as a separate JVM, the way cron or a pipeline does: real argv, real
 * environment, real exit code. Uses the test classpath, or {@code target/opsmv.jar} with {@link #jar()}.
 */
public final class OpsmvProcess {
    private final List<String> command = new ArrayList<>();
    private final Map<String, String> env = new HashMap<>();
    private final List<String> removedEnv = new ArrayList<>();

    private OpsmvProcess(List<String> launcher) {
        command.addAll(launcher);
    }

    /** The runner from the test classpath (works in surefire, before the jar exists). */
    public static OpsmvProcess classpath() {
        return new OpsmvProcess(List.of(java(), SHORT_LIVED[0], SHORT_LIVED[1], "-cp", System.getProperty("java.class.path"), "dev.opsmv.cli.Main"));
    }

    /** The packaged fat jar (integration tests, after `mvn package`), its classes mapped from a class-data archive. */
    public static OpsmvProcess jar() {
        Path jar = Path.of("target", "opsmv.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException("target/opsmv.jar is missing: run the test with `mvn verify`");
        }
        List<String> launcher = new ArrayList<>(List.of(java(), SHORT_LIVED[0], SHORT_LIVED[1]));
        launcher.addAll(RunnerArchive.options(jar));
        launcher.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        return new OpsmvProcess(launcher);
    }

    /** A process of any java command line, with this class's environment handling. */
    static OpsmvProcess launcher(List<String> commandLine) {
        return new OpsmvProcess(commandLine);
    }

    public OpsmvProcess env(String name, String value) {
        env.put(name, value);
        return this;
    }

    /** Removes a variable inherited from the test JVM (DATABASE_URL, PG*…). */
    public OpsmvProcess withoutEnv(String name) {
        removedEnv.add(name);
        return this;
    }

    public Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        removedEnv.forEach(pb.environment()::remove);
        for (String k : List.of("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE")) {
            if (!env.containsKey(k)) {
                pb.environment().remove(k);
            }
        }
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Runs to completion (at most {@code timeoutSeconds}) and captures stdout, stderr and the exit code. */
    public Result run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        Process p = start(args);
        var out = new java.util.concurrent.CompletableFuture<String>();
        var err = new java.util.concurrent.CompletableFuture<String>();
        Thread to = new Thread(() -> out.complete(read(p.getInputStream())));
        Thread te = new Thread(() -> err.complete(read(p.getErrorStream())));
        to.start();
        te.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("opsmv " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s");
        }
        to.join();
        te.join();
        return new Result(p.exitValue(), out.join(), err.join());
    }

    public record Result(int exitCode, String stdout, String stderr) {
        public String all() {
            return stdout + stderr;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * JVM options for the suite's short-lived child JVMs: without the optimising compiler and with one GC
     * thread a run costs a third less CPU, which on CI's two cores the test JVM and PostgreSQL are
     * waiting for. The runner's behaviour (argv, environment, exit code, output) is the same.
     */
    public static final String[] SHORT_LIVED = {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"};

    static String java() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
