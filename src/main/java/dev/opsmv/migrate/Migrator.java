package dev.opsmv.migrate;

import java.io.OutputStream;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.opsmv.db.Durations;
import liquibase.GlobalConfiguration;
import liquibase.Scope;
import liquibase.UpdateSummaryEnum;
import liquibase.changelog.ChangeLogHistoryServiceFactory;
import liquibase.changelog.ChangeLogParameters;
import liquibase.changelog.ChangeSet;
import liquibase.command.CommandResults;
import liquibase.command.CommandScope;
import liquibase.command.core.ReleaseLocksCommandStep;
import liquibase.command.core.RollbackCommandStep;
import liquibase.command.core.RollbackCountCommandStep;
import liquibase.command.core.RollbackCountSqlCommandStep;
import liquibase.command.core.RollbackSqlCommandStep;
import liquibase.command.core.TagCommandStep;
import liquibase.command.core.UpdateCommandStep;
import liquibase.command.core.UpdateSqlCommandStep;
import liquibase.command.core.UpdateToTagCommandStep;
import liquibase.command.core.helpers.DatabaseChangelogCommandStep;
import liquibase.command.core.helpers.DbUrlConnectionArgumentsCommandStep;
import liquibase.command.core.helpers.ShowSummaryArgument;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import liquibase.executor.ExecutorService;
import liquibase.lockservice.LockServiceFactory;
import liquibase.resource.ClassLoaderResourceAccessor;
import liquibase.resource.ResourceAccessor;
import dev.opsmv.db.Session;

/**
 * Runs Liquibase commands on one changelog through Liquibase's command API, on a connection the
 * caller opened (so credentials never pass through Liquibase's URL handling or logs).
 * Analytics are off: no network calls.
 */
public final class Migrator {
    static {
        // Liquibase reads this once; the property must be set before its first Scope is built.
        System.setProperty("liquibase.analytics.enabled", "false");
    }

    private final Connection connection;
    private final String changelogFile;
    private final Map<String, String> parameters;
    private final String historyTable;
    private final String lockTable;
    private final ResourceAccessor resources;
    private boolean quiet;
    /** The lock timeout the DDL really runs with (null: the changelog's own). */
    private String lockTimeout;

    private Migrator(Connection connection, String changelogFile, Map<String, String> parameters,
                     String historyTable, String lockTable, ResourceAccessor resources) {
        this.connection = connection;
        this.changelogFile = changelogFile;
        this.parameters = parameters;
        this.historyTable = historyTable;
        this.lockTable = lockTable;
        this.resources = resources;
    }

    /** The production bundle (the master changelog) with the given DDL lock timeout (null: the changelog's). */
    public static Migrator bundle(Connection connection, Duration lockTimeout) {
        return bundle(connection, lockTimeout, null);
    }

    /**
     * As {@link #bundle(Connection, Duration)}, with the source tables in {@code sourceSchema} (null: the
     * changelog's default). Liquibase checksums a changeset after substituting it, so a database keeps
     * the schema it was deployed with.
     */
    public static Migrator bundle(Connection connection, Duration lockTimeout, String sourceSchema) {
        return changelog(connection, Changelog.MASTER, lockTimeout, sourceSchema);
    }

    /**
     * A changelog of the bundle: the master, or an optional one kept out of it on purpose (e.g.
     * {@link Changelog#REFRESHER_ROLE}), sharing the bundle's DATABASECHANGELOG.
     */
    public static Migrator changelog(Connection connection, String changelogFile, Duration lockTimeout) {
        return changelog(connection, changelogFile, lockTimeout, null);
    }

    private static Migrator changelog(Connection connection, String changelogFile, Duration lockTimeout, String sourceSchema) {
        // The value ends up in SQL text (SET lock_timeout = '...'): PostgreSQL's form of a parsed duration, digits and a unit.
        String timeout = lockTimeout == null ? Changelog.DEFAULT_LOCK_TIMEOUT : Durations.setting(lockTimeout);
        // Liquibase always sees the changelog's default, so checksums never depend on --lock-timeout;
        // the statements that set it are rewritten as they run (see LockTimeoutOverride).
        Map<String, String> params = new LinkedHashMap<>();
        params.put("lock_timeout", Changelog.DEFAULT_LOCK_TIMEOUT);
        if (sourceSchema != null) {
            params.put("source_schema", Changelog.checkSourceSchema(sourceSchema));
        }
        Migrator m = new Migrator(LockTimeoutOverride.wrap(connection, Changelog.DEFAULT_LOCK_TIMEOUT, timeout),
                changelogFile, params, null, null, new ClassLoaderResourceAccessor(Migrator.class.getClassLoader()));
        m.lockTimeout = timeout;
        return m;
    }

    /**
     * This changelog as it would read from {@code changelogDir}, a directory laid out as the bundle's
     * {@code changelog/} (e.g. a copy with files not yet written into the real one): same parameters,
     * same history table. For reading and proving statements only.
     */
    public Migrator readingFrom(java.nio.file.Path changelogDir) throws Exception {
        java.nio.file.Path dir = changelogDir.toAbsolutePath();
        String file = dir.getFileName() + changelogFile.substring(changelogFile.indexOf('/'));
        Migrator m = new Migrator(connection, file, parameters, historyTable, lockTable,
                new liquibase.resource.DirectoryResourceAccessor(dir.getParent()));
        m.lockTimeout = lockTimeout;
        m.quiet = quiet;
        return m;
    }

    /** The source fixture, with its own history table; quiet (its progress is not the user's business). */
    public static Migrator fixture(Connection connection) {
        return new Migrator(connection, Changelog.FIXTURE, new LinkedHashMap<>(),
                Changelog.FIXTURE_HISTORY_TABLE, Changelog.FIXTURE_LOCK_TABLE,
                new ClassLoaderResourceAccessor(Migrator.class.getClassLoader())).quiet();
    }

    /** Sends Liquibase's console messages ("Running Changeset: …") to its log instead of stdout. */
    public Migrator quiet() {
        this.quiet = true;
        return this;
    }

    public void update() throws Exception {
        run(UpdateCommandStep.COMMAND_NAME, scope -> { }, null);
    }

    public void updateToTag(String tag) throws Exception {
        run(UpdateToTagCommandStep.COMMAND_NAME, scope -> scope.addArgumentValue(UpdateToTagCommandStep.TAG_ARG, tag), null);
    }

    /** The SQL update would run, with the changelog's SQL preconditions as guards (see {@link SqlGuards}). */
    public void updateSql(OutputStream out) throws Exception {
        var buffer = new java.io.ByteArrayOutputStream();
        run(UpdateSqlCommandStep.COMMAND_NAME, scope -> { }, buffer);
        String script = buffer.toString(java.nio.charset.StandardCharsets.UTF_8);
        var guards = withScope(database -> SqlGuards.guards(parseChangeLog(database)));
        script = SqlGuards.insert(script, guards);
        if (lockTimeout != null) {
            script = LockTimeoutOverride.rewriteScript(script, Changelog.DEFAULT_LOCK_TIMEOUT, lockTimeout);
        }
        out.write(script.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        out.flush();
    }

    public void rollbackToTag(String tag) throws Exception {
        run(RollbackCommandStep.COMMAND_NAME, scope -> scope.addArgumentValue(RollbackCommandStep.TAG_ARG, tag), null);
    }

    public void rollbackCount(int count) throws Exception {
        run(RollbackCountCommandStep.COMMAND_NAME,
                scope -> scope.addArgumentValue(RollbackCountCommandStep.COUNT_ARG, count), null);
    }

    public void rollbackToTagSql(String tag, OutputStream out) throws Exception {
        run(RollbackSqlCommandStep.COMMAND_NAME, scope -> scope.addArgumentValue(RollbackSqlCommandStep.TAG_ARG, tag), out);
    }

    public void rollbackCountSql(int count, OutputStream out) throws Exception {
        run(RollbackCountSqlCommandStep.COMMAND_NAME,
                scope -> scope.addArgumentValue(RollbackCountSqlCommandStep.COUNT_ARG, count), out);
    }

    public void tag(String tag) throws Exception {
        run(TagCommandStep.COMMAND_NAME, scope -> scope.addArgumentValue(TagCommandStep.TAG_ARG, tag), null);
    }

    public void releaseLocks() throws Exception {
        run(ReleaseLocksCommandStep.COMMAND_NAME, scope -> { }, null);
    }

    /** Tags the changelog itself declares (tagDatabase changes), in changelog order: valid targets of update --to-tag. */
    public List<String> changelogTags() throws Exception {
        List<String> tags = new ArrayList<>();
        withScope(database -> {
            var changeLog = parseChangeLog(database);
            for (ChangeSet cs : changeLog.getChangeSets()) {
                for (var change : cs.getChanges()) {
                    if (change instanceof liquibase.change.core.TagDatabaseChange tag) {
                        tags.add(tag.getTag());
                    }
                }
            }
            return null;
        });
        return tags;
    }

    /** Changesets of the changelog not yet applied, in changelog order ("path::id::author"). */
    public List<String> pendingChangeSets() throws Exception {
        List<String> pending = new ArrayList<>();
        withScope(database -> {
            var changeLog = parseChangeLog(database);
            if (!historyTableExists()) {
                // Asking Liquibase would create the history table; with none, every changeset is pending.
                for (ChangeSet cs : changeLog.getChangeSets()) {
                    pending.add(cs.getFilePath() + "::" + cs.getId() + "::" + cs.getAuthor());
                }
                return null;
            }
            // Not closed: closing a Liquibase instance closes the caller's connection.
            liquibase.Liquibase lb = new liquibase.Liquibase(changeLog, resources, database);
            for (ChangeSet cs : lb.listUnrunChangeSets(new liquibase.Contexts(), new liquibase.LabelExpression(), false)) {
                pending.add(cs.getFilePath() + "::" + cs.getId() + "::" + cs.getAuthor());
            }
            return null;
        });
        return pending;
    }

    /**
     * The statements of one changeset of the changelog as Liquibase would run them (parameters
     * substituted), for running outside Liquibase: the adoption plan runs the adoption changeset in a
     * transaction it rolls back.
     */
    public String changeSetSql(String id) throws Exception {
        List<String> sql = changeSetSql(cs -> cs.getId().equals(id));
        if (sql.isEmpty()) {
            throw new IllegalStateException("changeset " + id + " is not in " + changelogFile);
        }
        return sql.get(0);
    }

    /** One changeset's statements as Liquibase would run them, with where it comes from. */
    public record ChangeSetSql(String file, String id, String sql) {
    }

    /** Every changeset of the changelog with its statements, in changelog order. */
    public List<ChangeSetSql> changeSetSources() throws Exception {
        return withScope(database -> {
            List<ChangeSetSql> out = new ArrayList<>();
            for (ChangeSet cs : parseChangeLog(database).getChangeSets()) {
                StringBuilder sql = new StringBuilder();
                for (var change : cs.getChanges()) {
                    if (change instanceof liquibase.change.core.RawSQLChange raw) {
                        sql.append(raw.getSql()).append('\n');
                    }
                }
                out.add(new ChangeSetSql(cs.getFilePath(), cs.getId(), sql.toString()));
            }
            return out;
        });
    }

    /** The statements of every changeset that {@code which} accepts, in changelog order, one string per changeset. */
    public List<String> changeSetSql(java.util.function.Predicate<ChangeSet> which) throws Exception {
        return withScope(database -> {
            List<String> out = new ArrayList<>();
            for (ChangeSet cs : parseChangeLog(database).getChangeSets()) {
                if (which.test(cs)) {
                    StringBuilder sql = new StringBuilder();
                    for (var change : cs.getChanges()) {
                        if (change instanceof liquibase.change.core.RawSQLChange raw) {
                            sql.append(raw.getSql()).append('\n');
                        }
                    }
                    out.add(sql.toString());
                }
            }
            return out;
        });
    }

    /** The rollback statements of changeset {@code id}, as Liquibase would run them. */
    public String rollbackSql(String id) throws Exception {
        return withScope(database -> {
            for (ChangeSet cs : parseChangeLog(database).getChangeSets()) {
                if (cs.getId().equals(id)) {
                    StringBuilder sql = new StringBuilder();
                    for (var change : cs.getRollback().getChanges()) {
                        if (change instanceof liquibase.change.core.RawSQLChange raw) {
                            sql.append(raw.getSql()).append('\n');
                        }
                    }
                    return sql.toString();
                }
            }
            throw new IllegalStateException("changeset " + id + " is not in " + changelogFile);
        });
    }

    /** Parses the changelog only: DatabaseChangelogCommandStep would also create the history table. */
    private liquibase.changelog.DatabaseChangeLog parseChangeLog(Database database) throws Exception {
        return liquibase.parser.ChangeLogParserFactory.getInstance().getParser(changelogFile, resources)
                .parse(changelogFile, changeLogParameters(database), resources);
    }

    private boolean historyTableExists() throws java.sql.SQLException {
        String table = historyTable == null ? "databasechangelog" : historyTable.toLowerCase(java.util.Locale.ROOT);
        return Session.isTrue(connection, "SELECT to_regclass(?) IS NOT NULL", table);
    }

    private interface ScopeArgs {
        void apply(CommandScope scope) throws Exception;
    }

    private interface DatabaseWork<T> {
        T run(Database database) throws Exception;
    }

    private CommandResults run(String[] command, ScopeArgs args, OutputStream out) throws Exception {
        return withScope(database -> {
            CommandScope scope = new CommandScope(command)
                    .addArgumentValue(DbUrlConnectionArgumentsCommandStep.DATABASE_ARG, database)
                    .addArgumentValue(DatabaseChangelogCommandStep.CHANGELOG_FILE_ARG, changelogFile)
                    .addArgumentValue(DatabaseChangelogCommandStep.CHANGELOG_PARAMETERS, changeLogParameters(database))
                    .addArgumentValue(ShowSummaryArgument.SHOW_SUMMARY, UpdateSummaryEnum.OFF);
            args.apply(scope);
            if (out != null) {
                // Liquibase closes the output stream it is given; the caller's stream must survive it.
                scope.setOutput(new java.io.FilterOutputStream(out) {
                    @Override
                    public void write(byte[] b, int off, int len) throws java.io.IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws java.io.IOException {
                        out.flush();
                    }
                });
            }
            return scope.execute();
        });
    }

    private <T> T withScope(DatabaseWork<T> work) throws Exception {
        Map<String, Object> scopeValues = new LinkedHashMap<>();
        scopeValues.put(Scope.Attr.resourceAccessor.name(), resources);
        // quiet: Liquibase's console lines go to its log; otherwise to the console, without its multi-line error dump.
        scopeValues.put(Scope.Attr.ui.name(), quiet ? new liquibase.ui.LoggerUIService() : new QuietErrorsUI());
        if (historyTable != null) {
            scopeValues.put(GlobalConfiguration.DATABASECHANGELOG_TABLE_NAME.getKey(), historyTable);
            scopeValues.put(GlobalConfiguration.DATABASECHANGELOGLOCK_TABLE_NAME.getKey(), lockTable);
        }
        // Liquibase switches the connection to manual commit; give it back as we got it (setAutoCommit(true)
        // commits), so no query of ours afterwards leaves a transaction open.
        boolean autoCommit = connection.getAutoCommit();
        try {
            return inScope(scopeValues, work);
        } finally {
            if (!connection.isClosed() && connection.getAutoCommit() != autoCommit) {
                try {
                    connection.setAutoCommit(autoCommit);
                } catch (java.sql.SQLException e) {
                    // an aborted transaction after a failure: roll it back rather than mask the failure
                    connection.rollback();
                    connection.setAutoCommit(autoCommit);
                }
            }
        }
    }

    private <T> T inScope(Map<String, Object> scopeValues, DatabaseWork<T> work) throws Exception {
        return Scope.child(scopeValues, () -> {
            // Liquibase must not close the caller's connection: wrap it and never call database.close().
            Database database = DatabaseFactory.getInstance()
                    .findCorrectDatabaseImplementation(new JdbcConnection(connection));
            if (historyTable != null) {
                database.setDatabaseChangeLogTableName(historyTable);
                database.setDatabaseChangeLogLockTableName(lockTable);
            }
            // Liquibase caches its history service, lock service and executors in process-wide factories.
            // A second command on the same connection reused the first one's, which execute for real: an
            // update-sql after a status (or a rollback-sql after an update) wrote or deleted
            // DATABASECHANGELOG rows without running the changesets (MigratorSameConnectionTest).
            // Resetting only this database's entries did not help, so each command starts and ends
            // with empty factories (the runner runs one Liquibase command at a time).
            forgetCachedServices(database);
            // Our lock service (OwnedLockService) for our commands only: registered after the reset,
            // never through META-INF/services, so a stock CLI on this classpath keeps Liquibase's.
            LockServiceFactory.getInstance().register(new OwnedLockService());
            try {
                return work.run(database);
            } finally {
                forgetCachedServices(database);
            }
        });
    }

    private static void forgetCachedServices(Database database) {
        Scope.getCurrentScope().getSingleton(ChangeLogHistoryServiceFactory.class).resetAll();
        ChangeLogHistoryServiceFactory.getInstance().resetAll();
        LockServiceFactory.reset();
        Scope.getCurrentScope().getSingleton(ExecutorService.class).reset();
    }

    private ChangeLogParameters changeLogParameters(Database database) {
        ChangeLogParameters params = new ChangeLogParameters(database);
        parameters.forEach(params::set);
        return params;
    }
}
