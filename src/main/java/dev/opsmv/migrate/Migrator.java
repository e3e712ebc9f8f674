package dev.opsmv.migrate;

import java.io.OutputStream;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import liquibase.Scope;
import liquibase.GlobalConfiguration;
import liquibase.UpdateSummaryEnum;
import liquibase.changelog.ChangeLogParameters;
import liquibase.changelog.ChangeSet;
import liquibase.command.CommandResults;
import liquibase.command.CommandScope;
import liquibase.command.core.ReleaseLocksCommandStep;
import liquibase.command.core.RollbackCommandStep;
import liquibase.command.core.RollbackCountCommandStep;
import liquibase.command.core.RollbackCountSqlCommandStep;
import liquibase.command.core.RollbackSqlCommandStep;
import liquibase.command.core.StatusCommandStep;
import liquibase.command.core.TagCommandStep;
import liquibase.command.core.TagExistsCommandStep;
import liquibase.command.core.UpdateCommandStep;
import liquibase.command.core.UpdateSqlCommandStep;
import liquibase.command.core.UpdateToTagCommandStep;
import liquibase.command.core.helpers.DatabaseChangelogCommandStep;
import liquibase.command.core.helpers.DbUrlConnectionArgumentsCommandStep;
import liquibase.command.core.helpers.ShowSummaryArgument;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import liquibase.resource.ClassLoaderResourceAccessor;
import liquibase.resource.ResourceAccessor;

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

    private Migrator(Connection connection, String changelogFile, Map<String, String> parameters,
                     String historyTable, String lockTable, ResourceAccessor resources) {
        this.connection = connection;
        this.changelogFile = changelogFile;
        this.parameters = parameters;
        this.historyTable = historyTable;
        this.lockTable = lockTable;
        this.resources = resources;
    }

    /** The production bundle with the given DDL lock timeout (a PostgreSQL interval such as "5s"). */
    public static Migrator bundle(Connection connection, String lockTimeout) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("lock_timeout", lockTimeout == null ? Changelog.DEFAULT_LOCK_TIMEOUT : lockTimeout);
        return new Migrator(connection, Changelog.MASTER, params, null, null,
                new ClassLoaderResourceAccessor(Migrator.class.getClassLoader()));
    }

    /**
     * An optional changelog of the bundle (e.g. {@link Changelog#REFRESHER_ROLE}), kept out of the master on purpose;
     * it shares the bundle's DATABASECHANGELOG.
     */
    public static Migrator optional(Connection connection, String changelogFile, String lockTimeout) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("lock_timeout", lockTimeout == null ? Changelog.DEFAULT_LOCK_TIMEOUT : lockTimeout);
        return new Migrator(connection, changelogFile, params, null, null,
                new ClassLoaderResourceAccessor(Migrator.class.getClassLoader()));
    }

    /** The source fixture, with its own history table. */
    public static Migrator fixture(Connection connection) {
        return new Migrator(connection, Changelog.FIXTURE, new LinkedHashMap<>(),
                Changelog.FIXTURE_HISTORY_TABLE, Changelog.FIXTURE_LOCK_TABLE,
                new ClassLoaderResourceAccessor(Migrator.class.getClassLoader()));
    }

    public void update() throws Exception {
        run(UpdateCommandStep.COMMAND_NAME, scope -> { }, null);
    }

    public void updateToTag(String tag) throws Exception {
        run(UpdateToTagCommandStep.COMMAND_NAME, scope -> scope.addArgumentValue(UpdateToTagCommandStep.TAG_ARG, tag), null);
    }

    public void updateSql(OutputStream out) throws Exception {
        run(UpdateSqlCommandStep.COMMAND_NAME, scope -> { }, out);
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

    public boolean tagExists(String tag) throws Exception {
        CommandResults results = run(TagExistsCommandStep.COMMAND_NAME,
                scope -> scope.addArgumentValue(TagExistsCommandStep.TAG_ARG, tag), null);
        return Boolean.TRUE.equals(results.getResult(TagExistsCommandStep.TAG_EXISTS_RESULT));
    }

    public void releaseLocks() throws Exception {
        run(ReleaseLocksCommandStep.COMMAND_NAME, scope -> { }, null);
    }

    /** Changesets of the changelog not yet applied, in changelog order ("path::id::author"). */
    public List<String> pendingChangeSets() throws Exception {
        List<String> pending = new ArrayList<>();
        withScope(database -> {
            ChangeLogParameters params = changeLogParameters(database);
            var changeLog = DatabaseChangelogCommandStep.getDatabaseChangeLog(changelogFile, params, database);
            // Not closed: closing a Liquibase instance closes the caller's connection.
            liquibase.Liquibase lb = new liquibase.Liquibase(changeLog, resources, database);
            for (ChangeSet cs : lb.listUnrunChangeSets(new liquibase.Contexts(), new liquibase.LabelExpression(), false)) {
                pending.add(cs.getFilePath() + "::" + cs.getId() + "::" + cs.getAuthor());
            }
            return null;
        });
        return pending;
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
                scope.setOutput(out);
            }
            return scope.execute();
        });
    }

    private <T> T withScope(DatabaseWork<T> work) throws Exception {
        Map<String, Object> scopeValues = new LinkedHashMap<>();
        scopeValues.put(Scope.Attr.resourceAccessor.name(), resources);
        if (historyTable != null) {
            scopeValues.put(GlobalConfiguration.DATABASECHANGELOG_TABLE_NAME.getKey(), historyTable);
            scopeValues.put(GlobalConfiguration.DATABASECHANGELOGLOCK_TABLE_NAME.getKey(), lockTable);
        }
        return Scope.child(scopeValues, () -> {
            // Liquibase must not close the caller's connection: wrap it and never call database.close().
            Database database = DatabaseFactory.getInstance()
                    .findCorrectDatabaseImplementation(new JdbcConnection(connection));
            if (historyTable != null) {
                database.setDatabaseChangeLogTableName(historyTable);
                database.setDatabaseChangeLogLockTableName(lockTable);
            }
            return work.run(database);
        });
    }

    private ChangeLogParameters changeLogParameters(Database database) {
        ChangeLogParameters params = new ChangeLogParameters(database);
        parameters.forEach(params::set);
        return params;
    }
}
