package dev.opsmv.migrate;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;

import dev.opsmv.db.BlockerWatch;
import dev.opsmv.db.Causes;
import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.db.Durations;

/**
 * One `update` of the bundle: Liquibase on the caller's connection, watched from a second
 * connection so that a lock timeout can be reported with the backend that caused it.
 * Liquibase runs each runInTransaction:false changeset (the CREATE INDEX CONCURRENTLY ones) in
 * autocommit, and neither connection of ours keeps a transaction open meanwhile.
 */
public final class Deployment {
    private final ConnectionSpec spec;
    private final Connection connection;
    private final Duration lockTimeout;
    private final String sourceSchema;

    public Deployment(ConnectionSpec spec, Connection connection, Duration lockTimeout) {
        this(spec, connection, lockTimeout, null);
    }

    /** {@code sourceSchema}: the changelog's source_schema parameter (null: its default). */
    public Deployment(ConnectionSpec spec, Connection connection, Duration lockTimeout, String sourceSchema) {
        this.spec = spec;
        this.connection = connection;
        this.lockTimeout = lockTimeout == null ? Changelog.DEFAULT_LOCK_TIMEOUT_DURATION : lockTimeout;
        this.sourceSchema = sourceSchema;
    }

    public Migrator migrator() {
        return Migrator.bundle(connection, lockTimeout, sourceSchema);
    }

    /** Applies every pending changeset ({@code toTag} null) or those up to the changeset that sets {@code toTag}. */
    public void update(String toTag) throws Exception {
        int pid = BlockerWatch.backendPid(connection);
        try (BlockerWatch watch = BlockerWatch.start(spec, pid);
             Interruption interruption = Interruption.guard(spec, connection, "update")) {
            try {
                if (toTag == null) {
                    migrator().update();
                } else {
                    migrator().updateToTag(toTag);
                }
            } catch (Exception e) {
                if (Causes.isLockTimeout(e)) {
                    throw new LockTimeoutFailure(lockTimeoutMessage(e, watch.nowOrLastSeen()), e);
                }
                throw e;
            }
        }
    }

    private String lockTimeoutMessage(Exception e, List<BlockerWatch.Blocker> blockers) {
        String changeSet = Causes.failedChangeSet(e);
        StringBuilder sb = new StringBuilder("lock timeout (")
                .append(Durations.setting(lockTimeout)).append(") in changeset ").append(changeSet == null ? "?" : changeSet).append(": ");
        if (blockers.isEmpty()) {
            sb.append("the blocking session had already ended when we looked");
        } else {
            BlockerWatch.Blocker b = blockers.get(0);
            if (b.waitedFor() != null) {
                sb.append("waited for ").append(b.waitedFor()).append(", ");
            }
            sb.append("blocked by ").append(b.describe());
            if (blockers.size() > 1) {
                sb.append(" and ").append(blockers.size() - 1).append(" more");
            }
        }
        sb.append(". That changeset is not recorded in DATABASECHANGELOG (earlier ones are); ");
        if (!blockers.isEmpty()) {
            sb.append("let that session finish or end it (SELECT pg_terminate_backend(").append(blockers.get(0).pid()).append(")), then ");
        }
        sb.append("run update again");
        return sb.toString();
    }
}
