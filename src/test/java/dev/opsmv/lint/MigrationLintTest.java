package dev.opsmv.lint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.opsmv.testing.Required;

/**
 * Issue 7: the migration lint (.ci/lint/lint-changelog.mjs, squawk) rejects the deliberately unsafe
 * changesets of src/test/resources/lint/unsafe and passes the real changelog. Runs the same script
 * the build runs, as a process, and checks its exit code and the rules it names.
 */
class MigrationLintTest {
    static final Path LINT = Path.of(".ci", "lint");
    static final Path SCRIPT = LINT.resolve("lint-changelog.mjs");
    static final Path UNSAFE = Path.of("src", "test", "resources", "lint", "unsafe");

    @TempDir
    Path work;

    @BeforeAll
    static void needsNodeAndSquawk() {
        Required.assumeOrFail(Files.exists(SCRIPT), SCRIPT + " is missing (run the tests from the repository root)");
        Required.assumeOrFail(nodeAnswers(), "node is not on PATH: the migration lint test is skipped (install Node.js 18+)");
        Required.assumeOrFail(Files.exists(LINT.resolve(Path.of("node_modules", ".bin", "squawk"))),
                "squawk is not installed: run `npm ci --prefix .ci/lint` (the build does it unless -Dopsmv.lint.skip=true)");
    }

    @Test
    void plainIndexOnASourceTableAndAlterWithoutLockTimeoutAreRejected() throws Exception {
        Result r = lint(UNSAFE.resolve("unsafe_source_changes.sql").toString());
        assertEquals(1, r.exitCode, r.output);
        assertTrue(r.output.contains("unsafe-plain-index-on-source.forward.sql") && r.output.contains("require-concurrent-index-creation"), r.output);
        assertTrue(r.output.contains("unsafe-alter-without-lock-timeout.forward.sql") && r.output.contains("require-lock-timeout"), r.output);
        // rollbacks are linted too: the plain DROP INDEX of the first changeset's rollback
        assertTrue(r.output.contains("unsafe-plain-index-on-source.rollback.sql") && r.output.contains("require-concurrent-index-deletion"), r.output);
        assertTrue(r.output.contains("lint FAILED"), r.output);
    }

    @Test
    void aChangelogThatIncludesTheUnsafeChangesetAfterTheMasterFails() throws Exception {
        // What CI would see if the unsafe changeset were a release of the master changelog.
        Path changelog = work.resolve("with-unsafe-release.yaml");
        Files.writeString(changelog, """
                databaseChangeLog:
                  - include: { file: %s }
                  - include: { file: %s }
                """.formatted(Path.of("changelog", "db.changelog-master.yaml").toAbsolutePath(),
                UNSAFE.resolve("unsafe_source_changes.sql").toAbsolutePath()));
        Result r = lint("--changelog", changelog.toString());
        assertEquals(1, r.exitCode, r.output);
        assertTrue(r.output.contains("require-concurrent-index-creation") && r.output.contains("require-lock-timeout"), r.output);
        // Counted, not written down: the master gains files with every release.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("changesets in (\\d+) files").matcher(lint().output);
        assertTrue(m.find(), "the master's lint reports its file count");
        int masterFiles = Integer.parseInt(m.group(1));
        assertTrue(r.output.matches("(?s).*lint FAILED: .* changesets in " + (masterFiles + 1) + " files.*"),
                "the master's " + masterFiles + " files and the unsafe one: " + r.output);
    }

    @Test
    void concurrentIndexInATransactionalChangesetIsRejected() throws Exception {
        // The real index changesets run the same statement with runInTransaction:false and pass:
        // the transaction mode of each changeset is what the lint checks against.
        Result r = lint(UNSAFE.resolve("concurrent_index_in_transaction.sql").toString());
        assertEquals(1, r.exitCode, r.output);
        assertTrue(r.output.contains("ban-concurrent-index-creation-in-transaction"), r.output);
    }

    @Test
    void theMasterChangelogPasses() throws Exception {
        Result r = lint();
        assertEquals(0, r.exitCode, r.output);
        assertTrue(r.output.contains("lint OK"), r.output);
        assertTrue(r.output.matches("(?s).*\\d+ non-transactional parts.*"), r.output);
    }

    @Test
    void aPlaceholderTheMasterDoesNotDeclareIsAUsageError() throws Exception {
        Path file = work.resolve("unknown_param.sql");
        Files.writeString(file, "--liquibase formatted sql\n--changeset t:x\nSET LOCAL lock_timeout = '${lock_timeout}';\nCREATE TABLE ${nowhere}.t (id bigint);\n--rollback DROP TABLE ${nowhere}.t;\n");
        Result r = lint(file.toString());
        assertEquals(2, r.exitCode, r.output);
        assertTrue(r.output.contains("${nowhere} is not a parameter of the master changelog"), r.output);
    }

    record Result(int exitCode, String output) {
    }

    private Result lint(String... files) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("node", SCRIPT.toString()));
        cmd.addAll(List.of(files));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OPSMV_LINT_WORK_DIR", work.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("lint did not finish in 2 minutes:\n" + out);
        }
        System.out.println(out);
        return new Result(p.exitValue(), out);
    }

    private static boolean nodeAnswers() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
