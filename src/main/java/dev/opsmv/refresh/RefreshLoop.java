package dev.opsmv.refresh;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import dev.opsmv.db.Durations;

/**
 * {@code refresh --every D}: a foreground loop for containers and hosts without cron. A stop request
 * (SIGTERM through a shutdown hook) is honoured between MVs: the MV being refreshed finishes and is
 * logged, the rest wait for the next start, so no RUNNING row is left behind.
 */
public final class RefreshLoop {
    /** One run of the loop; returns the run's exit code. */
    public interface Iteration {
        int run(AtomicBoolean stop) throws Exception;
    }

    private final AtomicBoolean stop = new AtomicBoolean();
    private final CountDownLatch stopSignal = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);

    public void requestStop() {
        stop.set(true);
        stopSignal.countDown();
    }

    /** Waits until the loop has returned (the current MV finished), at most {@code max}. */
    public boolean awaitDone(Duration max) throws InterruptedException {
        return done.await(max.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Runs {@code iteration} every {@code every} (start to start; at once if a run took longer) until stopped. */
    public void run(Duration every, Iteration iteration, Consumer<String> out) {
        try {
            int n = 0;
            while (!stop.get()) {
                Instant start = Instant.now();
                n++;
                out.accept("run " + n + " at " + start);
                try {
                    int code = iteration.run(stop);
                    out.accept("run " + n + " finished with exit code " + code);
                } catch (Exception e) {
                    // One failed run (database down for a minute) must not end the loop: the next run may work.
                    out.accept("run " + n + " failed: " + String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                }
                Duration left = every.minus(Duration.between(start, Instant.now()));
                if (!left.isNegative() && !stop.get()) {
                    out.accept("next run in " + Durations.human(left.withNanos(0).plusSeconds(left.getNano() > 0 ? 1 : 0)));
                    try {
                        stopSignal.await(left.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
            out.accept("stopped");
        } finally {
            done.countDown();
        }
    }
}
