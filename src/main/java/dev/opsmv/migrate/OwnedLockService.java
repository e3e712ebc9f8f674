package dev.opsmv.migrate;

import java.sql.Connection;
import java.util.function.Consumer;

import liquibase.Scope;
import liquibase.changelog.ChangeLogHistoryServiceFactory;
import liquibase.database.Database;
import liquibase.database.core.PostgresDatabase;
import liquibase.database.jvm.JdbcConnection;
import liquibase.exception.DatabaseException;
import liquibase.exception.LockException;
import liquibase.executor.ExecutorService;
import liquibase.executor.LoggingExecutor;
import liquibase.lockservice.StandardLockService;

/**
 * Liquibase's lock service for the runner's own commands (registered by {@link Migrator} only, so a
 * stock CLI on the same classpath keeps the standard one). It takes the row itself rather than
 * letting StandardLockService write the host name and then overwriting LOCKEDBY: one committed
 * UPDATE, with the advisory lock already held, leaves no moment at which a SIGKILL would strand a
 * row that names no session ({@link ChangelogLock}). A held row is not waited for (Liquibase
 * polls for five minutes): a dead runner's row is cleared, any other holder stops the command.
 */
public class OwnedLockService extends StandardLockService {
    /** Scope key of the sink for the one-line notice about a cleared lock (default: stderr). */
    static final String NOTICE = "opsmv.lockNotice";

    @Override
    public int getPriority() {
        return super.getPriority() + 10;
    }

    @Override
    public boolean supports(Database database) {
        return database instanceof PostgresDatabase;
    }

    @Override
    public boolean acquireLock() throws LockException {
        if (hasChangeLogLock) {
            return true;
        }
        if (writesSqlOnly()) {
            // update-sql / rollback-sql: Liquibase writes its lock statements into the script; nothing is taken here
            return super.acquireLock();
        }
        quotingStrategy = database.getObjectQuotingStrategy();
        try {
            database.rollback();
            init();
            lock().take(notice());
            hasChangeLogLock = true;
            Scope.getCurrentScope().getSingleton(ChangeLogHistoryServiceFactory.class).resetAll();
            database.setCanCacheLiquibaseTableInfo(true);
            return true;
        } catch (LockException e) {
            throw e;
        } catch (Exception e) {
            throw new LockException(e);
        } finally {
            try {
                database.rollback();
            } catch (DatabaseException ignored) {
                // the session may be gone; the failure that matters is already on its way
            }
        }
    }

    @Override
    public void releaseLock() throws LockException {
        if (writesSqlOnly()) {
            super.releaseLock();
            return;
        }
        try {
            super.releaseLock();
        } finally {
            try {
                lock().releaseAdvisoryLock();
            } catch (RuntimeException ignored) {
                // no connection left: the session's end dropped the advisory lock
            }
        }
    }

    private boolean writesSqlOnly() {
        return Scope.getCurrentScope().getSingleton(ExecutorService.class).getExecutor("jdbc", database) instanceof LoggingExecutor;
    }

    private ChangelogLock lock() {
        Connection c = ((JdbcConnection) database.getConnection()).getUnderlyingConnection();
        return new ChangelogLock(c, database.getDatabaseChangeLogLockTableName());
    }

    @SuppressWarnings("unchecked")
    private static Consumer<String> notice() {
        Object sink = Scope.getCurrentScope().get(NOTICE, Object.class);
        return sink instanceof Consumer<?> c ? (Consumer<String>) c : System.err::println;
    }
}
