package dev.opsmv.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The driver-matrix answers of `serve`, kept until the MV is refreshed: an MV changes only then, so the same
 * request gets the same page until the next refresh by anyone ({@link RefreshWatch} drops everything at that
 * moment). Least recently used first out, bounded by entries and by bytes.
 *
 * <p>Only pages read from the MV are kept: the plain view (the fallback) reads the sources, which change at
 * any time. A page is stored only when no invalidation happened while it was being read ({@link #generation}):
 * a statement that started before a refresh committed must not outlive the notification of that refresh.
 * While the watch is down (no connection, not yet started) the cache answers nothing and stores nothing.
 */
public final class ResponseCache {
    /** One answer as served: the body in its format, what identifies it, and its gzip form once asked for. */
    public static final class Entry {
        final byte[] body;
        final int length;
        final String contentType;
        final String etag;
        final OffsetDateTime lastOk;
        final String source;
        final String next;
        private volatile byte[] gzip;

        Entry(byte[] body, int length, String contentType, String etag, OffsetDateTime lastOk, String source, String next) {
            this.body = body;
            this.length = length;
            this.contentType = contentType;
            this.etag = etag;
            this.lastOk = lastOk;
            this.source = source;
            this.next = next;
        }

        /** The body gzip-compressed, computed once per entry (a cached page is compressed once, not per hit). */
        byte[] gzip() {
            byte[] g = gzip;
            if (g == null) {
                g = compress(body, length);
                gzip = g;
            }
            return g;
        }

        long weight() {
            // the body and room for its gzip form (smaller than the body), counted at once so that a gzip
            // made later never takes the cache past its bytes
            return 2L * length + 256;
        }
    }

    static byte[] compress(byte[] body, int length) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, length / 4));
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 8192)) {
            gz.write(body, 0, length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private final int maxEntries;
    private final long maxBytes;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(256, 0.75f, true);
    private long bytes;
    private long generation;
    private boolean usable;
    private String state = "starting: not yet connected";
    private final Counter hits;
    private final Counter misses;
    private final Counter evictions;
    private final Counter invalidations;
    private final Counter checks;

    public ResponseCache(int maxEntries, long maxBytes, PrometheusRegistry registry) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        hits = Counter.builder().name("opsmv_cache_hits").help("Driver-matrix requests answered from the response cache").register(registry);
        misses = Counter.builder().name("opsmv_cache_misses")
                .help("Driver-matrix requests the response cache could not answer (not there, or the cache not usable)").register(registry);
        evictions = Counter.builder().name("opsmv_cache_evictions")
                .help("Answers dropped to stay within the cache's entries and bytes").register(registry);
        invalidations = Counter.builder().name("opsmv_cache_invalidations")
                .help("Times the whole cache was dropped, by reason: refresh (a check saw the MV refreshed or replaced), "
                        + "interval (every check interval on a standby or without the refresh-tracking event trigger), "
                        + "down (the watch (re)connected or lost its connection)")
                .labelNames("reason").register(registry);
        checks = Counter.builder().name("opsmv_cache_checks")
                .help("Checks of the MV the cache's watch made, one database round trip each: every answer waits for one "
                        + "that began after the request arrived, shared by the requests that arrive together")
                .register(registry);
        GaugeWithCallback.builder().name("opsmv_cache_bytes").help("Bytes the cached answers hold (bodies and their gzip form)")
                .callback(cb -> cb.call(bytes())).register(registry);
        GaugeWithCallback.builder().name("opsmv_cache_entries").help("Answers in the cache")
                .callback(cb -> cb.call(size())).register(registry);
    }

    /** The cached answer, or null (also while the cache is not usable, and for a null key); counts a hit or a miss. */
    public Entry get(String key) {
        Entry e;
        synchronized (this) {
            e = usable && key != null ? entries.get(key) : null;
        }
        (e == null ? misses : hits).inc();
        return e;
    }

    /** One check of the MV made (counted for /metrics: requests per check is what the fence costs the database). */
    void checked() {
        checks.inc();
    }

    /** What to pass to {@link #put}: read before the statement that computes the answer. */
    public synchronized long generation() {
        return generation;
    }

    /** Keeps the answer unless the cache was dropped since {@code generationBefore} or is not usable. */
    public void put(String key, Entry e, long generationBefore) {
        long w = e.weight();
        int evicted = 0;
        synchronized (this) {
            if (!usable || generation != generationBefore || w > maxBytes) {
                return;
            }
            Entry old = entries.put(key, e);
            if (old != null) {
                bytes -= old.weight();
            }
            bytes += w;
            Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
            while ((entries.size() > maxEntries || bytes > maxBytes) && it.hasNext()) {
                Map.Entry<String, Entry> eldest = it.next();
                if (eldest.getValue() == e) {
                    continue;
                }
                bytes -= eldest.getValue().weight();
                it.remove();
                evicted++;
            }
        }
        if (evicted > 0) {
            evictions.inc(evicted);
        }
    }

    /** Drops every answer; {@code reason} labels the metric. */
    public void invalidate(String reason) {
        synchronized (this) {
            entries.clear();
            bytes = 0;
            generation++;
        }
        invalidations.labelValues(reason).inc();
    }

    /** Usable (the watch is connected and listening or polling) or not, with a line for /health. */
    public void state(boolean nowUsable, String line) {
        boolean drop;
        synchronized (this) {
            drop = usable && !nowUsable;
            usable = nowUsable;
            state = line;
        }
        if (drop) {
            invalidate("down");
        }
    }

    public synchronized boolean usable() {
        return usable;
    }

    public synchronized String state() {
        return state;
    }

    public synchronized int size() {
        return entries.size();
    }

    public synchronized long bytes() {
        return bytes;
    }

    long hits() {
        return (long) hits.get();
    }

    long misses() {
        return (long) misses.get();
    }
}
