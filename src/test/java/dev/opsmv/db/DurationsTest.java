package dev.opsmv.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** The one duration grammar, and the form that reaches SQL text. */
class DurationsTest {
    @Test
    void everyUnitPeopleType() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(5), Durations.parse("5s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2min"));
        assertEquals(Duration.ofHours(1), Durations.parse(" 1H "));
        assertEquals(Duration.ofDays(1), Durations.parse("1d"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("PT1H30M"));
    }

    @Test
    void theSqlFormIsDigitsAndAPostgresUnitInItsShortestExactForm() {
        assertEquals("5min", Durations.setting("5m"));
        assertEquals("5min", Durations.setting("300000ms"));
        assertEquals("5s", Durations.setting("5000ms"));
        assertEquals("1500ms", Durations.setting("1500ms"));
        assertEquals("24h", Durations.setting("1d"));
        for (String text : new String[] {"5m", "90s", "PT1H30M", "1d", "7ms"}) {
            assertTrue(Durations.setting(text).matches("\\d+(ms|s|min|h)"), text);
        }
    }

    @Test
    void anythingElseIsRefusedWithOneLine() {
        for (String bad : new String[] {"", "soon", "5", "0", "0s", "-5s", "5 seconds", "5s; DROP TABLE drivers",
                "5s' ; DROP TABLE drivers; --", "1.5s", "PT0.0001S", "25d", "99999999999h", "P-1D"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
            assertTrue(!e.getMessage().contains("\n") && e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void theLargestValueFitsPostgresTimeouts() {
        assertEquals(Integer.MAX_VALUE, Durations.millis(Durations.parse(Integer.MAX_VALUE + "ms")));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse(((long) Integer.MAX_VALUE + 1) + "ms"));
    }
}
