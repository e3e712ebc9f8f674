package dev.opsmv.testing;

import java.util.Map;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * For tests that need something outside the JDK and Maven (node, squawk, psql, a writable
 * pg_hba.conf). On a developer machine a missing tool skips the test with its reason; in CI
 * ({@code CI} set, as CI services and .ci/run set it) the same condition fails the test, because
 * there a skip is a test that silently stopped running (MigrationLintTest ran no test for months).
 */
public final class Required {
    private Required() {
    }

    /** Skips the test unless {@code condition}; under CI fails it instead. */
    public static void assumeOrFail(boolean condition, String message) {
        assumeOrFail(condition, message, System.getenv());
    }

    static void assumeOrFail(boolean condition, String message, Map<String, String> env) {
        if (condition) {
            return;
        }
        if (inCi(env)) {
            Assertions.fail(message + " (required in CI: CI=" + env.get("CI") + ")");
        }
        Assumptions.abort(message);
    }

    /** {@code CI} set to anything but empty, "false" or "0" (the same reading as .ci/lint/lint.sh, which tests non-empty). */
    static boolean inCi(Map<String, String> env) {
        String ci = env.get("CI");
        return ci != null && !ci.isBlank() && !ci.trim().equalsIgnoreCase("false") && !ci.trim().equals("0");
    }

    /** A system property the build sets for the tests (pom.xml); its absence is a broken build, never a skip. */
    public static String property(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            Assertions.fail("system property " + name + " is not set: run the test through Maven (pom.xml sets it)");
        }
        return v;
    }
}
