package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.opsmv.api.DriverMatrixQuery;

/**
 * The post-deployment checklist of both runbooks, each item a ✓ or ✗ line, or a WARNING line for what is
 * worth doing but fails nothing (index bloat). Read-only: it creates, analyzes and refreshes nothing (so it
 * is safe on production right after a deploy). One class per section, run here in the checklist's order.
 */
public final class Verifier {
    private final Connection c;
    private final Options options;
    private final Progress progress;

    /**
     * The thresholds of the checklist. {@code maxQueryMs}: the endpoint's typical query must be faster (the
     * runbook: "queries &lt; 2s"); {@code bloatWarnPercent} and {@code bloatWarnMb}: an index whose estimated
     * bloat is over both gets a WARNING that names {@code opsmv reindex} (never a ✗).
     */
    public record Options(String sourceSchema, double maxQueryMs, int bloatWarnPercent, long bloatWarnMb) {
        public static final double DEFAULT_MAX_QUERY_MS = 2000;
        public static final int DEFAULT_BLOAT_WARN_PERCENT = 30;
        public static final long DEFAULT_BLOAT_WARN_MB = 10;

        public static Options defaults(String sourceSchema) {
            return new Options(sourceSchema, DEFAULT_MAX_QUERY_MS, DEFAULT_BLOAT_WARN_PERCENT, DEFAULT_BLOAT_WARN_MB);
        }
    }

    /** Each check as soon as it is made. */
    @FunctionalInterface
    public interface Progress {
        void checked(Check check);
    }

    /** Every check of the run, in order. */
    public record Result(List<Check> checks) {
        public long failed() {
            return checks.stream().filter(i -> !i.ok()).count();
        }

        public long warnings() {
            return checks.stream().filter(Check::warning).count();
        }

        public boolean allOk() {
            return failed() == 0;
        }
    }

    public Verifier(Connection c, String sourceSchema, Progress progress) {
        this(c, Options.defaults(sourceSchema), progress);
    }

    public Verifier(Connection c, Options options, Progress progress) {
        this.c = c;
        this.options = options;
        this.progress = progress;
    }

    public Result run() throws SQLException {
        c.setAutoCommit(true);
        Checklist list = new Checklist(progress);
        List<String> mvs = ObjectChecks.run(c, options.sourceSchema(), list);
        HealthViewChecks.run(c, list);
        DuplicateGrainChecks.run(c, list);
        SizeChecks.run(c, mvs, options.bloatWarnPercent(), options.bloatWarnMb(), list);
        LastRefreshChecks.run(c, list);
        DriverMatrixQuery typical = EndpointPlanChecks.run(c, list);
        if (typical != null) {
            EndpointTimingChecks.run(c, typical, options.maxQueryMs(), list);
        }
        return new Result(list.checks());
    }
}
