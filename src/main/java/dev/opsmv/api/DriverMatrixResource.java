package dev.opsmv.api;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GET /api/v1/ops/payments/driver-matrix as HTTP: the parameters read ({@link DriverMatrixQuery}), the answer
 * from the response cache once its fence has passed ({@link RefreshWatch}) or from the database
 * ({@link DriverMatrixService}), then the conditional rules, Cache-Control, the next page's Link and gzip.
 * {@link ApiServer} routes to it, counts and writes what it returns.
 */
final class DriverMatrixResource {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final byte[] EMPTY = new byte[0];

    private final ApiConfig config;
    private final DriverMatrixService driverMatrix;
    /** Null when the cache is off. */
    private final ResponseCache cache;
    /** Null when nothing watches the MV (the cache off, or several servers). */
    private final RefreshWatch watch;
    private final DatabaseTrouble trouble;

    DriverMatrixResource(ApiConfig config, DriverMatrixService driverMatrix, ResponseCache cache, RefreshWatch watch, DatabaseTrouble trouble) {
        this.config = config;
        this.driverMatrix = driverMatrix;
        this.cache = cache;
        this.watch = watch;
        this.trouble = trouble;
    }

    /**
     * One driver-matrix request: the answer from the cache or the database, then HTTP's conditional rules on it
     * (304 when the client's copy is current: no statement when the answer was cached), then gzip when asked for.
     */
    Reply answer(Request request, HttpFields.Mutable headers) {
        String rawQuery = request.getHttpURI().getQuery();
        HttpFields asked = request.getHeaders();
        DriverMatrixQuery q;
        String format;
        try {
            q = DriverMatrixQuery.parse(query(rawQuery), LocalDate.now(ZoneOffset.UTC));
            format = HttpRules.format(q.format(), asked.get(HttpHeader.ACCEPT));
        } catch (BadParameter e) {
            return Reply.error(400, e.getMessage(), e.parameter());
        } catch (HttpRules.NotAcceptable e) {
            return Reply.error(406, e.getMessage(), null);
        }
        // the same URL answers JSON or CSV, gzip or not, by these two headers: shared caches must key on them
        headers.put(HttpHeader.VARY, "Accept, Accept-Encoding");
        String key = q.cacheKey(format);
        // the fence first: a refresh that committed before this request arrived has then dropped what it replaced
        ResponseCache.Entry e = cache == null ? null
                : watch != null && cache.usable() && watch.fence(config.statementTimeoutMs(), config.cache().stalenessMs())
                ? cache.get(key) : cache.get(null);
        String served = cache == null ? "off" : e != null ? "hit" : "miss";
        if (e == null) {
            long generation = cache == null ? 0 : cache.generation();
            DriverMatrixService.Result r;
            try {
                r = driverMatrix.query(q, format);
            } catch (MissingColumn m) {
                LOG.warn("driver-matrix: {}", m.getMessage());
                return Reply.error(m.parameter() != null ? 400 : 500, m.getMessage(), m.parameter());
            } catch (SQLException x) {
                return trouble.answer(headers, x, "driver-matrix");
            }
            boolean keep = cache != null && DriverMatrixService.SOURCE_MV.equals(r.source());
            e = new ResponseCache.Entry(keep ? r.bytes() : r.body(), r.length(), r.contentType(), r.etag(), r.lastOk(), r.source(), r.next());
            if (keep) {
                cache.put(key, e, generation);
            }
        }
        headers.put(ApiServer.SOURCE_HEADER, e.source);
        headers.put(ApiServer.CACHE_HEADER, served);
        headers.put(HttpHeader.ETAG, e.etag);
        boolean fromMv = DriverMatrixService.SOURCE_MV.equals(e.source);
        if (fromMv && e.lastOk != null) {
            headers.put(HttpHeader.LAST_MODIFIED, HttpRules.httpDate(e.lastOk));
        }
        headers.put(HttpHeader.CACHE_CONTROL, cacheControl(e, fromMv));
        if (e.next != null) {
            headers.put(HttpHeader.LINK, "<" + nextLink(rawQuery, e.next) + ">; rel=\"next\"");
        }
        String ifNoneMatch = asked.get(HttpHeader.IF_NONE_MATCH);
        String ifModifiedSince = asked.get(HttpHeader.IF_MODIFIED_SINCE);
        boolean current = ifNoneMatch != null ? HttpRules.noneMatchHits(ifNoneMatch, e.etag)
                : ifModifiedSince != null && fromMv && e.lastOk != null && HttpRules.notModifiedSince(ifModifiedSince, e.lastOk);
        if (current) {
            return new Reply(304, null, EMPTY, 0, e.source);
        }
        if (e.length >= HttpRules.GZIP_MIN_BYTES && HttpRules.acceptsGzip(asked.get(HttpHeader.ACCEPT_ENCODING))) {
            byte[] gz = e.gzip();
            headers.put(HttpHeader.CONTENT_ENCODING, "gzip");
            return new Reply(200, e.contentType, gz, gz.length, e.source);
        }
        return new Reply(200, e.contentType, e.body, e.length, e.source);
    }

    /**
     * A page of the MV may be kept by the client until the MV is due again: at most --max-age, and never past the
     * moment its policy's WARN threshold says the next refresh should have happened by. The plain view's pages
     * (live sources) and a server without its cache (nothing watches the MV) say no-cache: revalidate each time,
     * which the ETag makes cheap.
     */
    private String cacheControl(ResponseCache.Entry e, boolean fromMv) {
        Double warnHours = watch == null ? null : watch.warnAfterHours();
        if (!fromMv || e.lastOk == null || warnHours == null) {
            return "no-cache";
        }
        long due = e.lastOk.toInstant().toEpochMilli() + (long) (warnHours * 3_600_000L);
        long left = (due - System.currentTimeMillis()) / 1000;
        long maxAge = Math.max(0, Math.min(config.cache().maxAgeSeconds(), left));
        return maxAge == 0 ? "no-cache" : "public, max-age=" + maxAge;
    }

    /** This request's URL with the cursor of the next page in place of any after or offset. */
    static String nextLink(String rawQuery, String cursor) {
        StringBuilder link = new StringBuilder(ApiServer.DRIVER_MATRIX_PATH).append('?');
        if (rawQuery != null) {
            for (String pair : rawQuery.split("&")) {
                if (pair.isEmpty() || pair.startsWith("after=") || pair.equals("after") || pair.startsWith("offset=") || pair.equals("offset")) {
                    continue;
                }
                link.append(pair).append('&');
            }
        }
        return link.append("after=").append(java.net.URLEncoder.encode(cursor, StandardCharsets.UTF_8)).toString();
    }

    /** The query string as name → values (URL-decoded); repeated names keep every value. */
    static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k;
            String v;
            try {
                k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new BadParameter("query", "malformed query string near '" + pair + "': " + e.getMessage());
            }
            out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return out;
    }
}
