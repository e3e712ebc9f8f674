package dev.opsmv.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.opsmv.db.DriverMatrixRelation;
import dev.opsmv.db.Relations;
import dev.opsmv.db.Replication;
import dev.opsmv.health.HealthJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the driver matrix from the MV, or from the plain view when the MV cannot answer.
 *
 * <p>One statement per request, in autocommit, on a connection whose read-only mode and timeouts were set
 * when the pool opened it ({@link ApiServer#dataSource}): the page of the MV together with the MV's last OK
 * refresh. No catalog lookup decides between MV and view: the MV is queried, and when it is missing (42P01),
 * not populated (55000) or locked by a plain REFRESH beyond lock_timeout (55P03), the same page is read from
 * the plain view (a second statement, on the fallback path only). Dropping, emptying or refreshing the MV
 * therefore takes effect on the next request without a restart.
 *
 * <p>Rows go from the ResultSet into the body through Jackson's streaming generator (no tree). The body is
 * written into a byte buffer, not the socket: pgjdbc has already read every row when executeQuery returns,
 * so writing to the socket row by row would save no memory, while a Content-Length body is one write and
 * keeps the pool connection out of a slow client's hands.
 */
public final class DriverMatrixService {
    public static final String SOURCE_MV = "materialized_view";
    public static final String SOURCE_VIEW = "view";
    private static final Logger LOG = LoggerFactory.getLogger(DriverMatrixService.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final String MV_NAME = DriverMatrixRelation.MV_NAME;
    /** Columns before the relation's own: the MV's last OK refresh, in_recovery, replay_paused, replay_lag_seconds, then opsmv_row (NULL on the head row, 1 on a page row). */
    private static final int LEADING = 5;
    private static final java.util.concurrent.ConcurrentMap<String, SerializableString> FIELD_NAMES = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.regex.Pattern WITH_OFFSET = java.util.regex.Pattern.compile("\\d[+-]\\d\\d(:\\d\\d){0,2}$");

    private final DataSource pool;
    private final ApiConfig config;
    /** The last decision logged ("materialized_view", or the fallback reason): logged again only when it changes. */
    private final AtomicReference<String> decision = new AtomicReference<>();

    public DriverMatrixService(DataSource pool, ApiConfig config) {
        this.pool = pool;
        this.config = config;
    }

    /**
     * What one request got: the JSON body (UTF-8, the first {@code length} bytes of {@code body}: the buffer it
     * was written into, not a copy of it, one 35 kB allocation less per page of 50) and where it came from.
     */
    public record Result(byte[] body, int length, String source, String fallbackReason, int rows, String etag,
                         OffsetDateTime lastOk, String next, String contentType) {
        /** The body as an array of its own length (what the response cache keeps). */
        public byte[] bytes() {
            return body.length == length ? body : java.util.Arrays.copyOf(body, length);
        }
    }

    public static final String JSON_TYPE = "application/json; charset=utf-8";
    /** header=present: the first line names the columns (RFC 4180, RFC 7111's parameter). */
    public static final String CSV_TYPE = "text/csv; charset=utf-8; header=present";

    /** The buffer the body is written into, handed over as it is. */
    private static final class Body extends ByteArrayOutputStream {
        Body(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }
    }

    public Result query(DriverMatrixQuery q) throws SQLException {
        return query(q, DriverMatrixQuery.JSON);
    }

    /** The page in {@code format} (DriverMatrixQuery.JSON or CSV). */
    public Result query(DriverMatrixQuery q, String format) throws SQLException {
        boolean csv = DriverMatrixQuery.CSV.equals(format);
        try (Connection c = pool.getConnection()) {
            String fallback;
            try {
                Result r = run(c, q, mvSql(q), SOURCE_MV, null, csv);
                decided(SOURCE_MV, null);
                return r;
            } catch (SQLException e) {
                if ("42703".equals(e.getSQLState())) {
                    throw missingColumn(c, q, e);
                }
                fallback = fallbackReason(e);
                if (fallback == null) {
                    throw e;
                }
            }
            decided(SOURCE_VIEW, fallback);
            return run(c, q, viewSql(q), SOURCE_VIEW, fallback, csv);
        }
    }

    /**
     * The MV's page with its last OK refresh: a head row (the freshness and where this server stands in
     * replication, {@code opsmv_row} NULL, the MV's columns NULL) then the page's rows, so the freshness is there
     * even when the page is empty. Public for the benchmark, which times this statement alone beside the request.
     *
     * <p>A UNION ALL, not a join: the page comes out of its index in its ORDER BY and goes straight through,
     * where a join with the head needed a sort of the page on top (0.27 → 0.22 ms a statement at 200,000
     * drivers, the bare page 0.18). The order of the two branches is the Append's: it runs its children one
     * after the other, and the page branch, a LIMIT, has no partial plan, so no Parallel Append can mix them.
     * {@link #run} refuses a head row anywhere but first rather than rely on that silently.
     */
    public static String mvSql(DriverMatrixQuery q) {
        String page = q.pageSql(DriverMatrixQuery.MV);
        // The last OK run, read as ops.v_mv_health reads it: the newest refresh_finished_at of the OK rows, the first
        // entry of the OK-only index of release v1.4 (idx_mv_refresh_log_mv_ok_finished). Read backwards on the
        // started-at index it walked every non-OK row since the last OK one (30,000 BUSY rows: 0.09 → 10 ms);
        // max() without an index read every run the log ever kept.
        // The head's MV columns come from a join that matches nothing, so that a missing MV is still 42P01 on it.
        return "SELECT (SELECT refresh_finished_at FROM ops.mv_refresh_log WHERE schema_name = 'ops' AND mv_name = '" + MV_NAME
                + "' AND status = 'OK' ORDER BY refresh_finished_at DESC LIMIT 1) AS opsmv_last_ok, "
                // where this server stands in replication: on a standby the log row is the replayed one
                + Replication.COLUMNS + ", NULL::integer AS opsmv_row, m.* FROM (SELECT) AS head LEFT JOIN " + DriverMatrixQuery.MV + " m ON false "
                + "UNION ALL SELECT NULL::timestamptz, NULL::boolean, NULL::boolean, NULL::float8, p.* FROM (" + page + ") p";
    }

    static String viewSql(DriverMatrixQuery q) {
        return q.pageSql(DriverMatrixQuery.VIEW).replaceFirst("^SELECT 1 AS opsmv_row, ", "SELECT NULL::timestamptz AS opsmv_last_ok, NULL::boolean AS in_recovery, "
                + "NULL::boolean AS replay_paused, NULL::float8 AS replay_lag_seconds, 1 AS opsmv_row, ");
    }

    private void decided(String source, String fallback) {
        String now = fallback == null ? source : fallback;
        String before = decision.getAndSet(now);
        if (!Objects.equals(before, now)) {
            if (fallback == null) {
                LOG.info("driver-matrix: using materialized view {}", DriverMatrixQuery.MV);
            } else {
                LOG.info("driver-matrix: falling back to the plain view: {}", fallback);
            }
        }
    }

    /**
     * An undefined column in the MV's statement: which of the columns the request reads the MV lacks, from the
     * catalog, said in one line. Looked up only on that error, so a request costs nothing more. (The view is no
     * way out: an MV imported narrower has a view of the bundle's columns only when the view was left as it was.)
     */
    private static SQLException missingColumn(Connection c, DriverMatrixQuery q, SQLException e) throws SQLException {
        if (!c.getAutoCommit()) {
            c.rollback();
        }
        List<String> read = new ArrayList<>(List.of("week_start", "driver_id"));
        if (q.originTag() != null) {
            read.add("origin_tag");
        }
        List<String> missing = Relations.missingColumns(c, "ops", MV_NAME, read);
        if (missing.isEmpty()) {
            return e;
        }
        boolean filterOnly = missing.equals(List.of("origin_tag"));
        return new MissingColumn(Relations.missingColumnsLine(DriverMatrixQuery.MV, missing, filterOnly
                ? "the origin_tag filter cannot be served here; leave origin_tag out"
                : "no driver-matrix request can be served from it; make the columns part of the MV's definition (docs/DEFINITION_CHANGES.md)"),
                filterOnly ? "origin_tag" : null, e);
    }

    /** Why the MV query may give way to the view; null when the error is not one the view can avoid. */
    private String fallbackReason(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String message = String.valueOf(e.getMessage());
        return switch (state) {
            case "55P03" -> "materialized view " + DriverMatrixQuery.MV + " is locked (a plain REFRESH holds ACCESS EXCLUSIVE); "
                    + "gave up after lock_timeout " + config.lockTimeoutMs() + " ms";
            case "55000" -> "materialized view " + DriverMatrixQuery.MV + " is not populated";
            // the refresh log missing is not the MV missing: that one is a deployment problem, not a fallback
            case "42P01" -> message.contains(MV_NAME) ? "materialized view " + DriverMatrixQuery.MV + " does not exist" : null;
            default -> null;
        };
    }

    private static Result run(Connection c, DriverMatrixQuery q, String sql, String source, String fallback, boolean csv) throws SQLException {
        // scroll-insensitive: pgjdbc holds the rows in memory either way; it lets the count precede the rows
        try (PreparedStatement ps = c.prepareStatement(sql, ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_READ_ONLY)) {
            q.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                OffsetDateTime lastOk = null;
                Replication.State replication = null; // null when served from the view
                int count = rs.last() ? rs.getRow() : 0;
                boolean head = rs.first() && rs.getObject(LEADING) == null;
                if (head) {
                    // the MV's head row (mvSql); the view's statement has none
                    lastOk = rs.getObject(1, OffsetDateTime.class);
                    replication = Replication.State.from(rs);
                    count--;
                }
                ResultSetMetaData md = rs.getMetaData();
                int columns = md.getColumnCount();
                int weekColumn = -1;
                int driverColumn = -1;
                for (int i = LEADING + 1; i <= columns; i++) {
                    String label = md.getColumnLabel(i);
                    if ("week_start".equals(label)) {
                        weekColumn = i;
                    } else if ("driver_id".equals(label)) {
                        driverColumn = i;
                    }
                }
                // a full page has a next one (perhaps empty): its cursor is the last row's sort key
                String next = null;
                if (count > 0 && count == q.limit() && weekColumn > 0 && driverColumn > 0 && rs.last()) {
                    next = q.cursorAfter(rs.getObject(weekColumn, java.time.LocalDate.class), rs.getString(driverColumn));
                }
                if (head) {
                    rs.first();
                } else {
                    rs.beforeFirst();
                }
                // a driver-matrix row is ~700 bytes of JSON: sized once, the buffer is never copied to grow
                // (a profile of the bench showed the growth copies among the top costs of a request)
                Body buf = new Body(1024 + 1024 * count);
                Page page = csv ? csvPage(rs, buf, columns)
                        : jsonPage(rs, q, buf, source, fallback, lastOk, replication, count, columns, next);
                String etag = etag(buf.array(), page.replicationFrom, page.replicationTo, buf.size(), csv);
                return new Result(buf.array(), buf.size(), source, fallback, count, etag, lastOk, next, csv ? CSV_TYPE : JSON_TYPE);
            }
        }
    }

    /** Where the replication fields lie in a JSON body (they move between two reads of the same rows). */
    private record Page(int replicationFrom, int replicationTo) {
    }

    private static Page jsonPage(ResultSet rs, DriverMatrixQuery q, Body buf, String source, String fallback, OffsetDateTime lastOk,
                                 Replication.State replication, int count, int columns, String next) throws SQLException {
        int from;
        int to;
        try (JsonGenerator g = JSON.createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("source", source);
            g.writeStringField("fallback_reason", fallback);
            g.writeStringField("mv_last_ok_refresh_at", HealthJson.time(lastOk));
            g.flush();
            from = buf.size();
            // null when served from the view; on a standby the lag says how much may be missing on top of the age
            g.writeFieldName("in_recovery");
            if (replication == null) g.writeNull(); else g.writeBoolean(replication.inRecovery());
            g.writeFieldName("replay_lag_seconds");
            if (replication == null) g.writeNull(); else g.writeNumber(replication.replayLagSeconds());
            g.flush();
            to = buf.size();
            g.writeObjectFieldStart("filters");
            g.writeStringField("origin_tag", q.originTag());
            g.writeStringField("week_start_from", q.weekStartFrom().toString());
            g.writeStringField("week_start_to", q.weekStartTo() == null ? null : q.weekStartTo().toString());
            g.writeArrayFieldStart("defaults_applied");
            for (String d : q.defaultsApplied()) {
                g.writeString(d);
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeStringField("order_by", DriverMatrixQuery.ORDER_BY);
            g.writeNumberField("limit", q.limit());
            g.writeNumberField("offset", q.offset());
            g.writeNumberField("count", count);
            g.writeStringField("next", next);
            g.writeArrayFieldStart("rows");
            if (count > 0) {
                ResultSetMetaData md = rs.getMetaData();
                SerializableString[] names = new SerializableString[columns + 1];
                int[] types = new int[columns + 1];
                // not getColumnTypeName: pgjdbc answers it with a catalog query (isAutoIncrement)
                for (int i = LEADING + 1; i <= columns; i++) {
                    names[i] = fieldName(md.getColumnLabel(i));
                    types[i] = md.getColumnType(i);
                }
                while (rs.next()) {
                    if (rs.getObject(LEADING) == null) {
                        throw new IllegalStateException("the driver-matrix statement returned its head row after a page row; "
                                + "the page would be miscounted, so nothing is served");
                    }
                    g.writeStartObject();
                    for (int i = LEADING + 1; i <= columns; i++) {
                        g.writeFieldName(names[i]);
                        value(g, types[i], rs, i);
                    }
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte buffer does not fail
        }
        return new Page(from, to);
    }

    private static final com.fasterxml.jackson.dataformat.csv.CsvFactory CSV = new com.fasterxml.jackson.dataformat.csv.CsvFactory();

    /** The rows alone, a header line first: what a spreadsheet takes; values in PostgreSQL's text form. */
    private static Page csvPage(ResultSet rs, Body buf, int columns) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        com.fasterxml.jackson.dataformat.csv.CsvSchema.Builder schema = com.fasterxml.jackson.dataformat.csv.CsvSchema.builder();
        for (int i = LEADING + 1; i <= columns; i++) {
            schema.addColumn(md.getColumnLabel(i));
        }
        try (com.fasterxml.jackson.dataformat.csv.CsvGenerator g = CSV.createGenerator(buf)) {
            g.setSchema(schema.setUseHeader(true).setLineSeparator("\r\n").build());
            while (rs.next()) {
                if (rs.getObject(LEADING) == null) {
                    throw new IllegalStateException("the driver-matrix statement returned its head row after a page row; nothing is served");
                }
                g.writeStartArray();
                for (int i = LEADING + 1; i <= columns; i++) {
                    String v = rs.getString(i);
                    if (v == null) g.writeNull(); else g.writeString(v);
                }
                g.writeEndArray();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Page(0, 0);
    }

    /**
     * A weak validator of the answer: SHA-256 over the body without the replication fields (the same rows read
     * twice on a standby differ only there). Weak, because a gzip-encoded answer carries the same tag.
     */
    static String etag(byte[] body, int skipFrom, int skipTo, int length, boolean csv) {
        try {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            d.update(body, 0, skipFrom);
            d.update(body, skipTo, length - skipTo);
            byte[] h = d.digest();
            return "W/\"" + (csv ? "c" : "j") + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(h, 18)) + "\"";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A column label quoted and UTF-8 encoded once, not once per row (per-row encoding was a fifth of a request in a profile). */
    private static SerializableString fieldName(String label) {
        return FIELD_NAMES.computeIfAbsent(label, SerializedString::new);
    }

    /**
     * SQL value → JSON: numbers exact, dates ISO, timestamptz ISO in UTC. The pool reads every value in
     * PostgreSQL's text form ({@link ApiServer#dataSource}), which for the common values is already the JSON
     * text: a numeric goes out as its digits (no BigDecimal built and printed again), a date as it came, a
     * timestamptz at offset +00 with two characters changed. Anything else takes the parsing path.
     */
    static void value(JsonGenerator g, int type, ResultSet rs, int i) throws SQLException, IOException {
        switch (type) {
            case Types.NUMERIC, Types.DECIMAL, Types.BIGINT, Types.INTEGER, Types.SMALLINT -> {
                String v = rs.getString(i);
                if (v == null) {
                    g.writeNull();
                } else if (isJsonNumber(v)) {
                    g.writeNumber(v); // written as is: PostgreSQL's text of a number is a JSON number
                } else {
                    g.writeString(v); // numeric's NaN and ±Infinity have no JSON number
                }
            }
            case Types.BOOLEAN, Types.BIT -> {
                boolean v = rs.getBoolean(i);
                if (rs.wasNull()) g.writeNull(); else g.writeBoolean(v);
            }
            case Types.DATE -> {
                String text = rs.getString(i);
                if (text == null || isPlainDate(text)) {
                    g.writeString(text);
                } else {
                    // BC, infinity, years past 9999: as java.time prints them
                    g.writeString(rs.getObject(i, java.time.LocalDate.class).toString());
                }
            }
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> {
                // pgjdbc reports timestamptz as TIMESTAMP too; its text form is the one that carries an offset
                String text = rs.getString(i);
                if (text == null) {
                    g.writeNull();
                } else if (isPlainUtcTimestamp(text)) {
                    // "2026-10-05 10:00:00.5+00" → "2026-10-05T10:00:00.5Z": ISO_OFFSET_DATE_TIME of the same instant
                    char[] iso = new char[text.length() - 2];
                    text.getChars(0, text.length() - 3, iso, 0);
                    iso[10] = 'T';
                    iso[iso.length - 1] = 'Z';
                    g.writeString(iso, 0, iso.length);
                } else if (WITH_OFFSET.matcher(text).find()) {
                    g.writeString(HealthJson.time(rs.getObject(i, OffsetDateTime.class)));
                } else {
                    g.writeString(rs.getTimestamp(i).toLocalDateTime().toString());
                }
            }
            default -> g.writeString(rs.getString(i));
        }
    }

    /** Digits with an optional sign and fraction: what PostgreSQL prints for every finite integer and numeric. */
    static boolean isJsonNumber(String v) {
        int i = v.charAt(0) == '-' ? 1 : 0;
        int digits = 0;
        boolean point = false;
        for (; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c >= '0' && c <= '9') {
                digits++;
            } else if (c == '.' && !point && digits > 0) {
                point = true;
            } else {
                return false;
            }
        }
        return digits > 0 && v.charAt(v.length() - 1) != '.';
    }

    /** yyyy-MM-dd, a year of four digits (DateStyle ISO, which pgjdbc sets): equal to LocalDate.toString. */
    static boolean isPlainDate(String t) {
        return t.length() == 10 && startsWithDate(t);
    }

    /** The first ten characters are yyyy-MM-dd. */
    private static boolean startsWithDate(String t) {
        return digits(t, 0, 4) && t.charAt(4) == '-' && digits(t, 5, 7) && t.charAt(7) == '-' && digits(t, 8, 10);
    }

    /** yyyy-MM-dd HH:mm:ss[.f…]+00: a timestamptz read in a UTC session. */
    static boolean isPlainUtcTimestamp(String t) {
        int n = t.length();
        if (n < 22 || !t.endsWith("+00") || t.charAt(10) != ' ' || !startsWithDate(t)) {
            return false;
        }
        if (!(digits(t, 11, 13) && t.charAt(13) == ':' && digits(t, 14, 16) && t.charAt(16) == ':' && digits(t, 17, 19))) {
            return false;
        }
        if (n == 22) {
            return true;
        }
        return t.charAt(19) == '.' && n > 23 && digits(t, 20, n - 3) && t.charAt(n - 4) != '0';
    }

    private static boolean digits(String t, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = t.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
