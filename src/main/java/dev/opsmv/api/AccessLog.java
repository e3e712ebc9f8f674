package dev.opsmv.api;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One logfmt line per request (time, method, path, status, source, ms), written by a thread of its own
 * through a buffered writer: a request only offers its line to a bounded queue, never waits for the
 * output. When the queue is full (the output cannot keep up) lines are dropped and counted, and the count
 * is written with the next line that gets through.
 */
final class AccessLog implements AutoCloseable {
    private static final String STOP = "";

    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(16_384);
    private final AtomicLong dropped = new AtomicLong();
    private final Writer out;
    private final Thread writer;

    private AccessLog(OutputStream stream) {
        this.out = new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), 64 * 1024);
        this.writer = new Thread(this::drain, "opsmv-access-log");
        writer.setDaemon(true);
    }

    static AccessLog start(OutputStream stream) {
        AccessLog log = new AccessLog(stream);
        log.writer.start();
        return log;
    }

    void log(String method, String path, int status, String source, double ms) {
        String line = String.format(Locale.ROOT, "access time=%s method=%s path=%s status=%d source=%s ms=%.2f",
                Instant.now(), method, path.replaceAll("[\\s\"]", "_"), status, source, ms);
        if (!queue.offer(line)) {
            dropped.incrementAndGet();
        }
    }

    private void drain() {
        List<String> batch = new ArrayList<>();
        try {
            while (true) {
                String first = queue.take();
                batch.add(first);
                queue.drainTo(batch, 1024);
                boolean stop = false;
                for (String line : batch) {
                    if (line == STOP) {
                        stop = true;
                        continue;
                    }
                    out.write(line);
                    out.write('\n');
                }
                batch.clear();
                long lost = dropped.getAndSet(0);
                if (lost > 0) {
                    out.write("access dropped=" + lost + " (the output could not keep up)\n");
                }
                // flushed when the queue runs dry: one write per burst, not one per request
                if (queue.isEmpty() || stop) {
                    out.flush();
                }
                if (stop) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the output is gone (closed pipe): nothing left to log to
        }
    }

    /** Writes what is queued, then stops the writer (at most 2 s). */
    @Override
    public void close() {
        try {
            queue.put(STOP);
            writer.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
