package dev.opsmv.migrate;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.swap.SideBySideSwap;

/**
 * `update`: the lock check, the pre-flight, the adoption plan, `--replace-differing`, then Liquibase
 * ({@link Deployment}). Decides and runs; says what it found through {@link Progress} as it goes (the
 * command prints it, in text or JSON) and what it did in a {@link Result}. A reason to stop before any change
 * is a {@link Stopped}.
 */
public final class Update {
    /** What update found, told as soon as it is known (before a stop, so that the reason is on screen). */
    public interface Progress {
        /** A changelog lock left by a dead runner was cleared. */
        void cleared(String line);

        void preflight(Preflight.Report report, String claimsTable);

        void plan(AdoptionPlan plan);

        /** `--replace-differing` is about to rebuild MVs (minutes, on a big one): what has been said must be out first. */
        void replacing();

        void replaced(List<SideBySideSwap.Swapped> replaced);

        /** Liquibase is about to run. */
        void applying();
    }

    /** Update stopped before any change: a difference, duplicates, a refused replacement ({@code usage}: a bad argument). */
    public static final class Stopped extends Exception {
        private final boolean usage;

        Stopped(String message, boolean usage) {
            super(message);
            this.usage = usage;
        }

        public boolean usage() {
            return usage;
        }
    }

    /**
     * @param adopted  what adoption did, one line each (empty on a database that met no existing object)
     */
    public record Result(long applied, Optional<String> lastTag, List<String> adopted) {
    }

    private final ConnectionSpec spec;
    private final Connection c;
    private final Deployment deployment;
    private final String sourceSchema;
    private final Duration lockTimeout;

    /** {@code sourceSchema}: where the source tables are; {@code sourceParameter}: the changelog's parameter (null: its default). */
    public Update(ConnectionSpec spec, Connection c, Duration lockTimeout, String sourceSchema, String sourceParameter) {
        this.spec = spec;
        this.c = c;
        this.lockTimeout = lockTimeout;
        this.sourceSchema = sourceSchema;
        this.deployment = new Deployment(spec, c, lockTimeout, sourceParameter);
    }

    public Result run(String toTag, boolean replaceDiffering, Progress progress) throws Exception {
        if (toTag != null) {
            List<String> tags = deployment.migrator().changelogTags();
            if (!tags.contains(toTag)) {
                throw new Stopped("unknown tag '" + toTag + "' for --to-tag: the changelog declares " + String.join(", ", tags), true);
            }
        }
        History history = new History(c);
        // before the pre-flight: a lock left by a dead runner is cleared, any other holder stops here (exit 5)
        ChangelogLock.bundle(c).requireFree(progress::cleared);

        Preflight.Report report = new Preflight(c, sourceSchema, deployment.migrator()).run();
        String table = Preflight.CLAIMS_MV + " (as computed from " + sourceSchema + ".claims_cabinet)";
        progress.preflight(report, table);
        if (report.duplicates().any() && deployment.migrator().pendingChangeSets().stream()
                .anyMatch(id -> id.contains("::" + Changelog.GRAIN_CHANGESET_ID + "::"))) {
            throw new Stopped("update stopped before any change: " + report.duplicates().total()
                    + " duplicate grain(s) in " + table + " (listed above) would stop the grain index changeset; "
                    + "remove the extra claims and run update again", false);
        }

        AdoptionPlan plan = AdoptionPlan.read(c, deployment.migrator());
        progress.plan(plan);
        List<AdoptionPlan.Item> blocking = plan.blocking();
        boolean replaceable = !blocking.isEmpty() && blocking.stream().allMatch(AdoptionPlan.Item::replaceable);
        if (!blocking.isEmpty() && !(replaceDiffering && replaceable)) {
            throw new Stopped("update stopped before any change: " + blocking.size()
                    + " object(s) differ from the bundle (listed above with their differences). "
                    + (replaceable ? "Rebuild them with the bundle's definition: opsmv update --replace-differing; or "
                            + "make the live definitions the bundle's next version: opsmv import"
                            : "Each line above says what to run; then run update again"), false);
        }
        List<SideBySideSwap.Swapped> replaced = List.of();
        if (!blocking.isEmpty()) {
            progress.replacing();
            // the rebuilt MV's indexes on two sessions, as a swap refresh builds them
            SideBySideSwap.SessionOpener indexSession = SideBySideSwap.SessionOpener.to(spec, "opsmv-update-index");
            try {
                replaced = new ReplaceDiffering(c, deployment.migrator(), lockTimeout, indexSession).replace(blocking);
            } catch (ReplaceDiffering.Refused refused) {
                throw new Stopped(refused.getMessage(), false);
            }
            progress.replaced(replaced);
        }

        long before = history.appliedCount();
        progress.applying();
        deployment.update(toTag);
        List<String> adopted = plan.meetsExistingObjects() ? AdoptionPlan.adopted(c) : List.of();
        return new Result(history.appliedCount() - before, history.lastTag(), adopted);
    }
}
