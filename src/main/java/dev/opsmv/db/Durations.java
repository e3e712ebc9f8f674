package dev.opsmv.db;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar of every duration option (update and update-sql --lock-timeout, refresh's
 * timeouts, --wait and --every, serve's timeouts): a whole number and a unit, 500ms, 30s, 5min or 5m,
 * 1h, 1d, or ISO-8601 (PT1H). A bare number is refused: PostgreSQL would read it as milliseconds
 * and a person as seconds. From 1 ms to 2147483647 ms (about 24 days), the range PostgreSQL
 * accepts for statement_timeout and lock_timeout, so every value works in either.
 */
public final class Durations {
    private static final Pattern SIMPLE = Pattern.compile("(\\d{1,10})\\s*(ms|s|sec|m|min|h|d)");
    private static final long MAX_MILLIS = Integer.MAX_VALUE;

    private Durations() {
    }

    /** Parses {@code text}; anything else is an IllegalArgumentException with one line for the user. */
    public static Duration parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Duration d;
        if (t.startsWith("p")) {
            try {
                d = Duration.parse(t.toUpperCase(Locale.ROOT));
            } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
                throw bad(text);
            }
        } else {
            Matcher m = SIMPLE.matcher(t);
            if (!m.matches()) {
                throw bad(text);
            }
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s", "sec" -> Duration.ofSeconds(n);
                case "m", "min" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> throw bad(text);
            };
        }
        if (d.isNegative() || d.toMillis() < 1 || d.compareTo(Duration.ofMillis(MAX_MILLIS)) > 0) {
            throw new IllegalArgumentException("'" + text + "' is out of range: from 1ms to 24d (PostgreSQL's limit for timeouts)");
        }
        return d;
    }

    /** As {@link #parse}, and 0 (with or without a unit) for the options where zero means "none" rather than a timeout. */
    public static Duration parseZeroAllowed(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        if (t.matches("0+(ms|s|sec|m|min|h|d)?")) {
            return Duration.ZERO;
        }
        return parse(text);
    }

    /**
     * The value for {@code SET statement_timeout / lock_timeout = '...'}: digits and a PostgreSQL unit
     * only (it is spliced into SQL text), in its shortest exact form, so "5s", "5000ms" and "PT5S" all
     * give "5s" and a value equal to the changelog's default is recognised as the default.
     */
    public static String setting(Duration d) {
        return human(d);
    }

    /** {@link #parse} then {@link #setting}: the user's text as a safe PostgreSQL setting. */
    public static String setting(String text) {
        return setting(parse(text));
    }

    /** Milliseconds as an int (the range check of {@link #parse} guarantees it fits). */
    public static int millis(Duration d) {
        return Math.toIntExact(d.toMillis());
    }

    public static String human(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "min";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("'" + text + "' is not a duration: use a number and a unit, e.g. 500ms, 30s, 5min (or 5m), 1h, 1d, or PT1H");
    }
}
