package dev.opsmv.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.opsmv.testing.Sql;
import dev.opsmv.testing.TestPostgres;

/** The lock-blocker watch names a real blocker, and stops (instead of spinning) when its own connection dies. */
// "newest": the blocker comes from pg_blocking_pids and pg_stat_activity
@Tag("newest")
class BlockerWatchTest {
    @Test
    void namesTheSessionThatHoldsTheLock() throws Exception {
        ConnectionSpec db = TestPostgres.freshDatabase();
        Sql.exec(db, "CREATE TABLE t (id int)");
        try (Connection blocker = db.open("opsmv-test-blocker"); Connection waiter = db.open("opsmv-test-waiter")) {
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
            int waiterPid = BlockerWatch.backendPid(waiter);
            try (BlockerWatch watch = BlockerWatch.start(db, waiterPid)) {
                waiter.createStatement().execute("SET lock_timeout = '3s'");
                try {
                    waiter.createStatement().execute("SELECT * FROM t");
                } catch (java.sql.SQLException expected) {
                    assertEquals("55P03", expected.getSQLState());
                }
                blocker.rollback();
                List<BlockerWatch.Blocker> seen = watch.nowOrLastSeen();
                assertEquals(1, seen.size(), seen.toString());
                assertEquals(BlockerWatch.backendPid(blocker), seen.get(0).pid());
                assertTrue(seen.get(0).describe().contains("application 'opsmv-test-blocker'"), seen.get(0).describe());
            }
        }
    }

    @Test
    void stopsPollingWhenItsConnectionIsTerminated() throws Exception {
        ConnectionSpec db = TestPostgres.freshDatabase();
        try (Connection watched = db.open("opsmv-test-watched");
             BlockerWatch watch = BlockerWatch.start(db, BlockerWatch.backendPid(watched))) {
            assertTrue(watch.polling());
            assertEquals(1, Sql.count(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    + "WHERE application_name = 'opsmv-lock-watch' AND datname = current_database()"));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (watch.polling() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertFalse(watch.polling(), "the watch went on polling a dead connection");
            assertEquals(List.of(), watch.nowOrLastSeen(), "nothing seen, and no exception either");
        }
    }
}
