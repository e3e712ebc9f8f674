package dev.opsmv.testing;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** The guard that keeps a missing tool from turning a test into a silent skip in CI. */
class RequiredTest {
    @Test
    void missingToolSkipsOnADeveloperMachine() {
        TestAbortedException skipped = assertThrows(TestAbortedException.class,
                () -> Required.assumeOrFail(false, "node is not on PATH", Map.of()));
        assertTrue(skipped.getMessage().contains("node is not on PATH"), skipped.getMessage());
    }

    @Test
    void missingToolFailsInCi() {
        AssertionFailedError failed = assertThrows(AssertionFailedError.class,
                () -> Required.assumeOrFail(false, "node is not on PATH", Map.of("CI", "true")));
        assertTrue(failed.getMessage().contains("node is not on PATH") && failed.getMessage().contains("CI=true"), failed.getMessage());
    }

    @Test
    void presentToolRunsTheTestEverywhere() {
        assertDoesNotThrow(() -> Required.assumeOrFail(true, "unused", Map.of("CI", "true")));
        assertDoesNotThrow(() -> Required.assumeOrFail(true, "unused", Map.of()));
    }

    @Test
    void ciMeansSetAndNotFalse() {
        assertTrue(Required.inCi(Map.of("CI", "true")));
        assertTrue(Required.inCi(Map.of("CI", "1")));
        assertFalse(Required.inCi(Map.of()));
        assertFalse(Required.inCi(Map.of("CI", "")));
        assertFalse(Required.inCi(Map.of("CI", "false")));
        assertFalse(Required.inCi(Map.of("CI", "0")));
    }
}
