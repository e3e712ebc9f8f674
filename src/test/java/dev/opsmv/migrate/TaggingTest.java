package dev.opsmv.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;

/** The rules of `tag`: no tag is ever overwritten, and the database is unchanged when one is refused. */
class TaggingTest {
    @Test
    void refusesWhatWouldLoseARollbackTargetAndTagsOtherwise() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(50, Deployed.SHARED_SEED, 0);
        try (Connection c = db.open()) {
            assertRefused("nothing to tag: no changeset has been applied", () -> Tagging.tag(c, "early", "db"));
            assertRefused("tag name must be", () -> Tagging.tag(c, "two words", "db"));

            Migrator.bundle(c, null).updateToTag("v1.0");
            List<String> atV10 = Catalog.history(db);
            assertRefused("already carries tag 'v1.0'", () -> Tagging.tag(c, "before-incident", "db"));
            assertEquals(atV10, Catalog.history(db), "a refused tag changes nothing");

            Migrator.bundle(c, null).rollbackCount(3);
            Tagging.tag(c, "before-incident", "db");
            assertTrue(new History(c).tags().contains("before-incident"));
            assertRefused("tag 'before-incident' already exists", () -> Tagging.tag(c, "before-incident", "db"));
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    private static void assertRefused(String fragment, Work work) {
        Tagging.Refused e = assertThrows(Tagging.Refused.class, work::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
