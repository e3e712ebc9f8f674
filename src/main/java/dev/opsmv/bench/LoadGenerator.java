package dev.opsmv.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop HTTP load: {@code clients} keep-alive connections ({@link HttpConnection}), one
 * platform thread each, sending the given paths in turn for a fixed time. Besides the latencies it
 * measures its own CPU time (per generator thread, ThreadMXBean) so the report can say how much of
 * the machine the generator took from the server it measures.
 */
final class LoadGenerator {
    /**
     * @param generatorCpu share of the machine (wall time x cores) the generator threads used
     * @param jvmOtherCpu  share used by the rest of this JVM: the endpoint (HTTP server, JSON, the pool)
     * @param machineBusy  share of the machine busy in that time (/proc/stat: the endpoint, PostgreSQL, the generator and anything else on the host)
     */
    record Result(int clients, int requests, int errors, double seconds, Stats latency, double generatorCpu, double jvmOtherCpu,
                  double machineBusy) {
        double perSecond() {
            return requests / seconds;
        }
    }

    private final int port;
    private final List<String> paths;
    private final String headers;
    private final int expected;

    LoadGenerator(int port, List<String> paths) {
        this(port, paths, "Accept: application/json\r\n", 200);
    }

    /** Requests with {@code headers} (lines ending in CRLF); a status other than {@code expected} counts as an error. */
    LoadGenerator(int port, List<String> paths, String headers, int expected) {
        this.port = port;
        this.paths = paths;
        this.headers = headers;
        this.expected = expected;
    }

    Result run(int clients, long millis) throws InterruptedException {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        CountDownLatch ready = new CountDownLatch(clients);
        CountDownLatch go = new CountDownLatch(1);
        AtomicLong generatorNanos = new AtomicLong();
        double[][] latencies = new double[clients][];
        int[] counts = new int[clients];
        int[] errors = new int[clients];
        long[] deadline = new long[1];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < clients; t++) {
            final int me = t;
            Thread w = new Thread(() -> {
                double[] ms = new double[4096];
                int n = 0;
                int i = me;
                try (HttpConnection http = new HttpConnection("127.0.0.1", port)) {
                    long cpu0 = threads.getCurrentThreadCpuTime();
                    ready.countDown();
                    go.await();
                    // at least one request each: a short line (a smoke run) still measures every client
                    do {
                        String path = paths.get(i++ % paths.size());
                        long t0 = System.nanoTime();
                        try {
                            if (http.get(path, headers).status() != expected) {
                                errors[me]++;
                            }
                        } catch (Exception e) {
                            errors[me]++;
                        }
                        if (n == ms.length) {
                            ms = Arrays.copyOf(ms, n * 2);
                        }
                        ms[n++] = (System.nanoTime() - t0) / 1e6;
                    } while (System.nanoTime() < deadline[0]);
                    generatorNanos.addAndGet(threads.getCurrentThreadCpuTime() - cpu0);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                latencies[me] = Arrays.copyOf(ms, n);
                counts[me] = n;
            }, "opsmv-bench-load-" + t);
            w.start();
            workers.add(w);
        }
        ready.await();
        CpuClock before = CpuClock.now();
        deadline[0] = System.nanoTime() + millis * 1_000_000L;
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        CpuClock after = CpuClock.now();
        double wall = (after.wallNanos - before.wallNanos) / 1e9;
        int cores = Runtime.getRuntime().availableProcessors();
        double generator = generatorNanos.get() / 1e9 / (wall * cores);
        double jvm = (after.processCpuNanos - before.processCpuNanos) / 1e9 / (wall * cores);
        double[] all = Arrays.stream(latencies).flatMapToDouble(Arrays::stream).toArray();
        return new Result(clients, Arrays.stream(counts).sum(), Arrays.stream(errors).sum(), wall, Stats.of(all), generator,
                Math.max(0, jvm - generator), after.busyShareSince(before));
    }

    /** This JVM's CPU time, the machine's busy and total jiffies (/proc/stat), and the wall clock, at one instant. */
    record CpuClock(long wallNanos, long processCpuNanos, long busyJiffies, long totalJiffies) {
        static CpuClock now() {
            long process = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                    ? os.getProcessCpuTime() : 0;
            long busy = 0;
            long total = 0;
            try {
                String cpu = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0);
                String[] f = cpu.trim().split("\\s+");
                for (int i = 1; i < f.length && i <= 8; i++) {
                    long v = Long.parseLong(f[i]);
                    total += v;
                    if (i != 4 && i != 5) { // idle, iowait
                        busy += v;
                    }
                }
            } catch (Exception e) {
                // not Linux: no machine-wide figure
            }
            return new CpuClock(System.nanoTime(), process, busy, total);
        }

        double busyShareSince(CpuClock before) {
            long total = totalJiffies - before.totalJiffies;
            return total <= 0 ? Double.NaN : (double) (busyJiffies - before.busyJiffies) / total;
        }
    }
}
