package dev.opsmv.bench;

import java.io.PrintWriter;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/** The Markdown report, echoed to the log as it grows; the targets table goes right under the header. */
final class Report {
    private final StringBuilder md = new StringBuilder();
    private final List<String[]> targets = new ArrayList<>();
    private final PrintWriter log;
    private int summaryAt;

    Report(PrintWriter log) {
        this.log = log;
    }

    /** A target with what this run measured: a row of the summary (a failed condition besides the figure, e.g. errors, fails it). */
    void target(Target t, double measured, boolean otherwiseMet, String note) {
        targets.add(new String[] {t.promise, t.shown(measured), t.met(measured) && otherwiseMet ? "met" : "**not met**", note});
    }

    /** The line under a section that states its target and the verdict. */
    void targetLine(Target t, double measured, boolean otherwiseMet, String why) {
        line("Target: " + t.promise + " → measured " + t.shown(measured) + " (" + (t.met(measured) && otherwiseMet ? "met" : "not met")
                + ")" + (why == null ? "." : ". " + Character.toUpperCase(why.charAt(0)) + why.substring(1) + "."));
    }

    void header(Bench.Options o, Machine m, String pg, String generator) {
        line("# opsmv benchmarks");
        line("");
        line("Measured " + OffsetDateTime.now(ZoneOffset.UTC).withNano(0) + " by `java -jar target/opsmv.jar bench --drivers "
                + o.drivers() + (o.loadSeconds() == Bench.Options.DEFAULT_LOAD_SECONDS ? "" : " --load-seconds " + o.shownLoadSeconds()) + "` on " + m.cores() + " cores, " + m.memory() + " RAM (" + m.cpu() + "), " + m.os()
                + ", " + m.jvm() + "; PostgreSQL " + pg + " (embedded, fsync off); " + String.format("%,d", o.drivers())
                + " drivers, seed " + o.seed() + ". Everything below comes from this one run, side by side on the same server. "
                + "The machine is shared: 1-minute load average " + Machine.loadAverage() + " when the run started. "
                + "HTTP load: " + generator + ".");
        summaryAt = md.length();
    }

    void section(String title, String... tableHead) {
        line("");
        line("## " + title);
        line("");
        // the machine is shared: say how busy it was when each section began
        line("_1-minute load average when this section began: " + Machine.loadAverage() + "._");
        line("");
        for (String h : tableHead) {
            line(h);
        }
    }

    void row(String... cells) {
        line("| " + String.join(" | ", cells) + " |");
    }

    void line(String text) {
        md.append(text).append('\n');
        log.println(text);
    }

    /** The targets table (after the header) and how to reproduce (at the end). */
    String finish(Bench.Options o) {
        StringBuilder summary = new StringBuilder("\n## Targets\n\n| target | measured | | why / note |\n|---|---:|---|---|\n");
        for (String[] t : targets) {
            summary.append("| ").append(String.join(" | ", t)).append(" |\n");
        }
        md.insert(summaryAt, summary.append('\n'));
        md.append("\n## How to reproduce\n\n```sh\nmvn -B -q package -DskipTests\n")
                .append("java -jar target/opsmv.jar bench --drivers ").append(o.drivers())
                .append(" --seed ").append(o.seed()).append(" --out docs/BENCHMARKS.md   # about 6 min at 200,000 drivers on 2 cores\n```\n\n")
                .append("Everything runs on one embedded PostgreSQL (default settings plus fsync off, shared_buffers 256MB) started by the command; ")
                .append("the endpoint (`ApiServer`) runs in the benchmark's JVM, and so does the HTTP load generator: a lean keep-alive client on ")
                .append("raw sockets (one platform thread per connection, no HTTP library), whose own CPU time is measured per thread and printed ")
                .append("beside the figures (section 4). The 1-minute load average was ").append(Machine.loadAverage())
                .append(" when the run ended. `--pg-version 16|17|18` measures another major; `--drivers 1000000` runs to completion (docs/BENCHMARKS-1M.md).\n");
        return md.toString();
    }
}
