package dev.opsmv.db;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes in PostgreSQL's memory units (B, kB, MB, GB, TB; 1024-based, as in postgresql.conf). */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|kB|MB|GB|TB)");

    private Sizes() {
    }

    /** "500MB" → bytes; anything else is an IllegalArgumentException naming the accepted form. */
    public static long parse(String value) {
        Matcher m = SIZE.matcher(value == null ? "" : value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + value + "' is not a size: write a whole number and one of B, kB, MB, GB, TB (e.g. 500MB, 2GB)");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2)) {
            case "B" -> 0;
            case "kB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            default -> 40;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + value + "' is too large a size");
        }
        return n << shift;
    }

    /** Bytes as MB with one decimal, as the plan lines print them. */
    public static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
}
