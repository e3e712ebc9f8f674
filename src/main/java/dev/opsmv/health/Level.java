package dev.opsmv.health;

/** A health level with its Nagios plugin exit code; the overall level of a report is the worst of its rows as they count (HealthReport.counted). */
public enum Level {
    OK(0), WARN(1), CRIT(2), UNKNOWN(3);

    private final int exitCode;

    Level(int exitCode) {
        this.exitCode = exitCode;
    }

    /** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN: what Nagios, Icinga, cron wrappers and CI read. */
    public int exitCode() {
        return exitCode;
    }

    public Level worst(Level other) {
        return other.ordinal() > ordinal() ? other : this;
    }
}
