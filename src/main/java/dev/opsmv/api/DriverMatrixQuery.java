package dev.opsmv.api;

import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.opsmv.db.DriverMatrixRelation;

/**
 * The driver-matrix query of the endpoint, on either relation (the MV or the plain view): the same
 * filters, the same stable order. Also used by `verify` to EXPLAIN and time "the endpoint's typical query".
 *
 * <p>Defaults (documented in docs/SERVE.md): no week_start_from → 8 weeks before week_start_to, or before
 * the current week (Monday, UTC) when week_start_to is absent too; no week_start_to → no upper bound;
 * no origin_tag → every origin; limit 100 (1..1000); offset 0. Order: week_start DESC, driver_id ASC
 * (driver_id is the grain, so the order is total and pages never overlap).
 */
public record DriverMatrixQuery(String originTag, LocalDate weekStartFrom, LocalDate weekStartTo, int limit, int offset,
                                List<String> defaultsApplied, Cursor after, String format) {
    public static final String MV = DriverMatrixRelation.MV;
    public static final String VIEW = DriverMatrixRelation.VIEW;
    /** The origin tags the source knows (the driver origins of docs/DESIGN.md); anything else is a typo → 400. */
    public static final List<String> ORIGIN_TAGS = List.of("cabinet", "fleet", "referral", "partner_api");
    public static final int DEFAULT_LIMIT = 100;
    public static final int MAX_LIMIT = 1000;
    public static final int MAX_OFFSET = 10_000_000;
    public static final int DEFAULT_WINDOW_WEEKS = 8;
    public static final String ORDER_BY = "week_start DESC, driver_id ASC";
    static final LocalDate FIRST_DATE = LocalDate.of(1, 1, 1);
    static final LocalDate LAST_DATE = LocalDate.of(9999, 12, 31);
    public static final String JSON = "json";
    public static final String CSV = "csv";
    private static final Set<String> PARAMETERS = Set.of("origin_tag", "week_start_from", "week_start_to", "limit", "offset", "after", "format");

    /** Validates the query string of a request; {@code today} decides the default window. */
    public static DriverMatrixQuery parse(Map<String, List<String>> params, LocalDate today) {
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            if (!PARAMETERS.contains(e.getKey())) {
                throw new BadParameter(e.getKey(), "unknown parameter '" + e.getKey() + "'; known: origin_tag, week_start_from, week_start_to, limit, offset, after, format");
            }
            if (e.getValue().size() > 1) {
                throw new BadParameter(e.getKey(), "parameter '" + e.getKey() + "' given " + e.getValue().size() + " times; give it once");
            }
        }
        List<String> defaults = new ArrayList<>();
        String origin = single(params, "origin_tag");
        if (origin != null && !ORIGIN_TAGS.contains(origin)) {
            throw new BadParameter("origin_tag", "unknown origin_tag '" + origin + "'; valid: " + String.join(", ", ORIGIN_TAGS));
        }
        LocalDate to = date(params, "week_start_to");
        LocalDate from = date(params, "week_start_from");
        if (from == null) {
            LocalDate anchor = to != null ? to : today.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
            from = anchor.minusWeeks(DEFAULT_WINDOW_WEEKS);
            if (from.isBefore(FIRST_DATE)) {
                from = FIRST_DATE;
            }
            defaults.add("week_start_from");
        }
        if (to != null && from.isAfter(to)) {
            throw new BadParameter("week_start_from", "week_start_from " + from + " is after week_start_to " + to);
        }
        int limit = integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
        if (single(params, "limit") == null) {
            defaults.add("limit");
        }
        int offset = integer(params, "offset", 0, 0, MAX_OFFSET);
        String format = single(params, "format");
        if (format != null && !JSON.equals(format) && !CSV.equals(format)) {
            throw new BadParameter("format", "unknown format '" + format + "'; valid: json, csv (or leave it out and send Accept: text/csv)");
        }
        String token = single(params, "after");
        Cursor after = null;
        if (token != null) {
            if (single(params, "offset") != null) {
                throw new BadParameter("after", "after and offset cannot be given together: after continues from the cursor of the previous page; leave offset out");
            }
            after = Cursor.decode(token, filterKey(origin, from, to));
        }
        return new DriverMatrixQuery(origin, from, to, limit, offset, List.copyOf(defaults), after, format);
    }

    /** The filters a cursor is bound to: a cursor continues the listing it came from, not another. */
    static String filterKey(String origin, LocalDate from, LocalDate to) {
        return (origin == null ? "" : origin) + "|" + from + "|" + (to == null ? "" : to.toString());
    }

    /** The cursor that continues after a row with this sort key, under this query's filters. */
    public String cursorAfter(LocalDate weekStart, String driverId) {
        return new Cursor(weekStart, driverId).encode(filterKey(originTag, weekStartFrom, weekStartTo));
    }

    /** Everything that decides the answer's content except the MV's rows: the key of the response cache. */
    public String cacheKey(String resolvedFormat) {
        return resolvedFormat + "|" + filterKey(originTag, weekStartFrom, weekStartTo) + "|" + limit + "|" + offset + "|"
                + (after == null ? "" : after.weekStart() + "," + after.driverId()) + "|" + String.join(",", defaultsApplied);
    }

    /**
     * The page as a select list {@code opsmv_row, <the relation's columns>} ({@code opsmv_row} is 1), bound by
     * {@link #bind}. With a cursor, two index seeks one after the other: the rest of the cursor's week after its
     * driver, then the weeks before it, so that the page starts where the cursor points instead of counting rows
     * from the top (week_start DESC, driver_id ASC is not one direction, so a row comparison cannot seek it).
     */
    public String pageSql(String relation) {
        if (after == null) {
            return sql(relation).replaceFirst("^SELECT \\* FROM ", "SELECT 1 AS opsmv_row, p.* FROM ").replaceFirst(" WHERE ", " p WHERE ");
        }
        checkRelation(relation);
        String rest = (weekStartTo != null ? " AND week_start <= ?" : "") + (originTag != null ? " AND origin_tag = ?" : "");
        return "SELECT 1 AS opsmv_row, k.* FROM ((SELECT * FROM " + relation + " WHERE week_start = ? AND driver_id > ? AND week_start >= ?" + rest
                + " ORDER BY driver_id LIMIT ?) UNION ALL (SELECT * FROM " + relation + " WHERE week_start < ? AND week_start >= ?" + rest
                + " ORDER BY " + ORDER_BY + " LIMIT ?)) k ORDER BY " + ORDER_BY + " LIMIT ?";
    }

    /** The query on {@code relation} (MV or VIEW); bind with {@link #bind}. */
    public String sql(String relation) {
        checkRelation(relation);
        StringBuilder sql = new StringBuilder("SELECT * FROM ").append(relation).append(" WHERE week_start >= ?");
        if (weekStartTo != null) {
            sql.append(" AND week_start <= ?");
        }
        if (originTag != null) {
            sql.append(" AND origin_tag = ?");
        }
        return sql.append(" ORDER BY ").append(ORDER_BY).append(" LIMIT ? OFFSET ?").toString();
    }

    private static void checkRelation(String relation) {
        if (!MV.equals(relation) && !VIEW.equals(relation)) {
            throw new IllegalArgumentException("not a driver-matrix relation: " + relation);
        }
    }

    /** Binds {@link #sql} or {@link #pageSql} (the two agree when there is no cursor). */
    public void bind(PreparedStatement ps) throws SQLException {
        if (after != null) {
            int i = 1;
            // the cursor's values as untyped literals: PostgreSQL reads them as the columns' own types
            ps.setObject(i++, after.weekStart().toString(), Types.OTHER);
            ps.setObject(i++, after.driverId(), Types.OTHER);
            i = bindFilters(ps, i);
            ps.setInt(i++, limit);
            ps.setObject(i++, after.weekStart().toString(), Types.OTHER);
            i = bindFilters(ps, i);
            ps.setInt(i++, limit);
            ps.setInt(i, limit);
            return;
        }
        int i = 1;
        ps.setDate(i++, Date.valueOf(weekStartFrom));
        if (weekStartTo != null) {
            ps.setDate(i++, Date.valueOf(weekStartTo));
        }
        if (originTag != null) {
            ps.setString(i++, originTag);
        }
        ps.setInt(i++, limit);
        ps.setInt(i, offset);
    }

    private int bindFilters(PreparedStatement ps, int i) throws SQLException {
        ps.setDate(i++, Date.valueOf(weekStartFrom));
        if (weekStartTo != null) {
            ps.setDate(i++, Date.valueOf(weekStartTo));
        }
        if (originTag != null) {
            ps.setString(i++, originTag);
        }
        return i;
    }

    /** The same query with its parameters inlined, for EXPLAIN and for printing. */
    public String literalSql(String relation) {
        String sql = sql(relation);
        List<String> values = new ArrayList<>();
        values.add("DATE '" + weekStartFrom + "'");
        if (weekStartTo != null) {
            values.add("DATE '" + weekStartTo + "'");
        }
        if (originTag != null) {
            values.add("'" + originTag.replace("'", "''") + "'");
        }
        values.add(Integer.toString(limit));
        values.add(Integer.toString(offset));
        StringBuilder out = new StringBuilder();
        int v = 0;
        for (char ch : sql.toCharArray()) {
            out.append(ch == '?' ? values.get(v++) : String.valueOf(ch));
        }
        return out.toString();
    }

    private static String single(Map<String, List<String>> params, String name) {
        List<String> v = params.get(name);
        if (v == null || v.isEmpty() || v.get(0) == null || v.get(0).isEmpty()) {
            return null;
        }
        return v.get(0);
    }

    private static LocalDate date(Map<String, List<String>> params, String name) {
        String v = single(params, name);
        if (v == null) {
            return null;
        }
        LocalDate d;
        try {
            d = LocalDate.parse(v);
        } catch (DateTimeParseException e) {
            throw new BadParameter(name, name + " must be a date YYYY-MM-DD (got '" + v + "')");
        }
        // ISO lets a sign and more digits through (+999999999-12-31), which no week of the MV can be
        if (d.isBefore(FIRST_DATE) || d.isAfter(LAST_DATE)) {
            throw new BadParameter(name, name + " must be a date from " + FIRST_DATE + " to " + LAST_DATE + " (got '" + v + "')");
        }
        return d;
    }

    private static int integer(Map<String, List<String>> params, String name, int dflt, int min, int max) {
        String v = single(params, name);
        if (v == null) {
            return dflt;
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new BadParameter(name, name + " must be an integer from " + min + " to " + max + " (got '" + v + "')");
        }
        if (n < min || n > max) {
            throw new BadParameter(name, name + " must be from " + min + " to " + max + " (got " + v + ")");
        }
        return (int) n;
    }
}
