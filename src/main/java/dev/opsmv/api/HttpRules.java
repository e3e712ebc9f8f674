package dev.opsmv.api;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * The HTTP rules the driver-matrix answer follows (RFC 9110): which representation a client accepts, whether
 * it accepts gzip, and whether its copy is still current (If-None-Match, If-Modified-Since).
 */
final class HttpRules {
    /** Smaller bodies go out as they are: a gzip header and a compressor's setup are not worth it below this. */
    static final int GZIP_MIN_BYTES = 1024;

    private HttpRules() {
    }

    /** Nothing the client accepts is JSON or CSV (406). */
    static final class NotAcceptable extends RuntimeException {
        NotAcceptable(String message) {
            super(message);
        }
    }

    /**
     * json or csv: {@code format=} when given, else the Accept header's preference (its q-values; a tie, a
     * wildcard or no header is JSON).
     */
    static String format(String formatParameter, String accept) {
        if (formatParameter != null) {
            return formatParameter;
        }
        if (accept == null || accept.isBlank()) {
            return DriverMatrixQuery.JSON;
        }
        double json = quality(accept, "application", "json");
        double csv = quality(accept, "text", "csv");
        if (json <= 0 && csv <= 0) {
            throw new NotAcceptable("no representation matches Accept: " + accept.strip()
                    + "; this endpoint answers application/json or text/csv (or give format=json|csv)");
        }
        return csv > json ? DriverMatrixQuery.CSV : DriverMatrixQuery.JSON;
    }

    /** The q-value the header gives type/subtype: the most specific matching range wins; 0 when none matches. */
    static double quality(String header, String type, String subtype) {
        double best = 0;
        int bestSpecificity = -1;
        for (String range : header.split(",")) {
            String[] parts = range.split(";");
            String media = parts[0].trim().toLowerCase(Locale.ROOT);
            int slash = media.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String t = media.substring(0, slash);
            String s = media.substring(slash + 1);
            int specificity;
            if (t.equals(type) && s.equals(subtype)) {
                specificity = 2;
            } else if (t.equals(type) && s.equals("*")) {
                specificity = 1;
            } else if (t.equals("*") && s.equals("*")) {
                specificity = 0;
            } else {
                continue;
            }
            if (specificity > bestSpecificity) {
                bestSpecificity = specificity;
                best = q(parts);
            }
        }
        return best;
    }

    /** Accept-Encoding names gzip (or *) with a q above 0. */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        double gzip = -1;
        double star = -1;
        for (String coding : acceptEncoding.split(",")) {
            String[] parts = coding.split(";");
            String name = parts[0].trim().toLowerCase(Locale.ROOT);
            if (name.equals("gzip") || name.equals("x-gzip")) {
                gzip = Math.max(gzip, q(parts));
            } else if (name.equals("*")) {
                star = q(parts);
            }
        }
        return gzip >= 0 ? gzip > 0 : star > 0;
    }

    private static double q(String[] parts) {
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            if (p.startsWith("q=") || p.startsWith("Q=")) {
                try {
                    return Double.parseDouble(p.substring(2).trim());
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 1;
    }

    /** If-None-Match matches the entity tag (weak comparison, as GET requires); "*" matches any. */
    static boolean noneMatchHits(String ifNoneMatch, String etag) {
        String mine = opaque(etag);
        for (String tag : ifNoneMatch.split(",")) {
            String t = tag.trim();
            if (t.equals("*") || opaque(t).equals(mine)) {
                return true;
            }
        }
        return false;
    }

    private static String opaque(String tag) {
        return tag.startsWith("W/") ? tag.substring(2) : tag;
    }

    /** The answer has not changed since the If-Modified-Since date (ignored when it is not an HTTP date). */
    static boolean notModifiedSince(String ifModifiedSince, OffsetDateTime lastModified) {
        try {
            ZonedDateTime since = ZonedDateTime.parse(ifModifiedSince.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
            return !lastModified.truncatedTo(ChronoUnit.SECONDS).toInstant().isAfter(since.toInstant());
        } catch (DateTimeParseException e) {
            return false;
        }
    }

    // RFC_1123_DATE_TIME writes "Fri, 4 Dec 2026": IMF-fixdate wants the day in two digits
    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH);

    /** An HTTP date (IMF-fixdate), to the second. */
    static String httpDate(OffsetDateTime t) {
        return IMF_FIXDATE.format(t.atZoneSameInstant(ZoneOffset.UTC));
    }
}
