package dev.opsmv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** What the figures were measured on. */
record Machine(int cores, String memory, String cpu, String os, String jvm) {
    static Machine current() {
        return new Machine(Runtime.getRuntime().availableProcessors(),
                procLine("/proc/meminfo", "MemTotal:").map(v -> String.format("%.1f GiB",
                        Long.parseLong(v.replaceAll("[^0-9]", "")) / 1024.0 / 1024.0)).orElse("unknown"),
                procLine("/proc/cpuinfo", "model name").orElse("unknown"),
                System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    }

    /** The 1-minute load average (/proc/loadavg, or the JVM's view of it), for a report made on a shared machine. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0];
        } catch (IOException | RuntimeException e) {
            double l = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            return l < 0 ? "unknown" : String.format(java.util.Locale.ROOT, "%.2f", l);
        }
    }

    private static Optional<String> procLine(String file, String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of(file));
            return lines.stream().filter(l -> l.startsWith(key)).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
