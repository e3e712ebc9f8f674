package dev.opsmv.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Base64;

/**
 * Where a driver-matrix page ended: the last row's sort key (week_start, driver_id) and the filters it was read
 * with, as one opaque URL-safe token ({@code after=}). Reading from a cursor seeks the index to that key, so a
 * deep page costs what the first one does, and rows refreshed in between neither repeat nor go missing by
 * position as they do with {@code offset}.
 *
 * <p>The token carries a check over its content: an edited or truncated cursor, or one given with other filters
 * than those it came from, is a 400 naming {@code after}, never a page from somewhere else. The check is not a
 * secret (a cursor grants nothing the filters would not): it makes a mistake loud, it is not access control.
 */
public record Cursor(LocalDate weekStart, String driverId) {
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final String VERSION = "c1";

    /** The token for this position under {@code filters} (DriverMatrixQuery.filterKey). */
    public String encode(String filters) {
        String payload = VERSION + "|" + weekStart + "|" + driverId;
        return B64.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + check(payload, filters);
    }

    /** The position of a token given with {@code filters}; a BadParameter naming {@code after} when it is not one. */
    public static Cursor decode(String token, String filters) {
        int dot = token.lastIndexOf('.');
        String payload;
        try {
            if (dot <= 0) {
                throw new IllegalArgumentException("no check");
            }
            payload = new String(B64D.decode(token.substring(0, dot)), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw bad("it is not a cursor this endpoint wrote");
        }
        String[] parts = payload.split("\\|", -1);
        if (parts.length != 3 || !VERSION.equals(parts[0]) || parts[2].isEmpty()) {
            throw bad("it is not a cursor this endpoint wrote");
        }
        if (!MessageDigest.isEqual(check(payload, filters).getBytes(StandardCharsets.US_ASCII),
                token.substring(dot + 1).getBytes(StandardCharsets.US_ASCII))) {
            throw bad("it was changed, or it belongs to other filters (origin_tag, week_start_from, week_start_to) than this request's");
        }
        try {
            return new Cursor(LocalDate.parse(parts[1]), parts[2]);
        } catch (DateTimeParseException e) {
            throw bad("it is not a cursor this endpoint wrote");
        }
    }

    private static BadParameter bad(String why) {
        return new BadParameter("after", "after is not a valid cursor: " + why
                + "; take the `next` of the previous page (or its Link rel=\"next\") with the same filters, or start again without after");
    }

    private static String check(String payload, String filters) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((payload + "\n" + filters).getBytes(StandardCharsets.UTF_8));
            return B64.encodeToString(Arrays.copyOf(d, 12));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
