package dev.opsmv.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.opsmv.db.Session;
import dev.opsmv.swap.IndexSpec;
import dev.opsmv.swap.SideBySideSwap;

/**
 * `update --replace-differing`: each MV whose live definition differs from the bundle's is rebuilt
 * with the bundle's definition and indexes beside the one that serves and swapped in; the old one is
 * dropped in the swap, its definition and everything attached to it recorded in ops.opsmv_adoption as
 * the undo, so that rolling the bundle back rebuilds the original MV in place (its rows recomputed). After this the
 * MV is identical to the bundle's and the adoption gate adopts it like any other. An MV that other views or
 * MVs read is rebuilt with them ({@link SideBySideSwap#replace}): they are rebuilt on it from their own
 * definitions and swapped in by the same transaction, and the undo puts them back too.
 */
public final class ReplaceDiffering {
    private final Connection c;
    private final Migrator migrator;
    private final Duration lockTimeout;
    private final SideBySideSwap.SessionOpener indexSession;

    /** @param indexSession a second session for the index builds (as for a swap refresh); null: one session */
    public ReplaceDiffering(Connection connection, Migrator migrator, Duration lockTimeout, SideBySideSwap.SessionOpener indexSession) {
        this.c = connection;
        this.migrator = migrator;
        this.lockTimeout = lockTimeout;
        this.indexSession = indexSession;
    }

    public List<SideBySideSwap.Swapped> replace(List<AdoptionPlan.Item> differing) throws Exception {
        // the catalogue and the adoption record must exist for the swap to be recorded; the adoption
        // changeset is idempotent, and Liquibase runs it again as part of the update
        // What stops a rebuild is read in the same transaction, before anything is committed: all of the
        // differing MVs are rebuilt, or nothing changes.
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            AdoptionPlan.installMachinery(c, migrator);
            List<String> refusals = new ArrayList<>();
            for (AdoptionPlan.Item item : differing) {
                String[] name = objectName(item.changesetId());
                for (String why : new SideBySideSwap(c, lockTimeout, indexSession)
                        .rebuildObstacles(name[0], name[1], definition(item.changesetId()), indexes(item.changesetId()))) {
                    refusals.add(name[0] + "." + name[1] + ": " + why);
                }
            }
            if (!refusals.isEmpty()) {
                c.rollback();
                throw new Refused(refusals);
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
        List<SideBySideSwap.Swapped> done = new ArrayList<>();
        for (AdoptionPlan.Item item : differing) {
            String[] name = objectName(item.changesetId());
            SideBySideSwap swap = new SideBySideSwap(c, lockTimeout, indexSession);
            done.add(swap.replace(name[0], name[1], definition(item.changesetId()), indexes(item.changesetId()),
                    (tx, swapped) -> record(tx, item, swapped)));
        }
        return done;
    }

    /** What stops {@code --replace-differing} before any MV is rebuilt, one line per MV and reason. */
    public static final class Refused extends Exception {
        private final List<String> reasons;

        Refused(List<String> reasons) {
            super("update --replace-differing stopped before any change: " + String.join("; ", reasons));
            this.reasons = List.copyOf(reasons);
        }

        public List<String> reasons() {
            return reasons;
        }
    }

    private static void record(Connection tx, AdoptionPlan.Item item, SideBySideSwap.Swapped swapped) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("SELECT ops.opsmv_record(?, ?, 'replace', ?, ?)")) {
            ps.setString(1, item.changesetId());
            ps.setString(2, item.object());
            ps.setString(3, "rebuilt with the bundle's definition (update --replace-differing); the original's definition "
                    + "and everything attached to it recorded: rollback rebuilds it");
            ps.setString(4, swapped.undoSql());
            ps.execute();
        }
    }

    private String[] objectName(String changesetId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT object_schema, object_name FROM ops.opsmv_bundle_object WHERE changeset_id = ? AND object_kind = 'matview'")) {
            ps.setString(1, changesetId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("changeset " + changesetId + " creates no materialized view");
                }
                return new String[] {rs.getString(1), rs.getString(2)};
            }
        }
    }

    private String definition(String changesetId) throws SQLException {
        return Session.text(c, "SELECT definition FROM ops.opsmv_bundle_object WHERE changeset_id = ? AND object_kind = \'matview\'", changesetId);
    }

    private List<IndexSpec> indexes(String changesetId) throws SQLException {
        List<IndexSpec> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT index_name, is_unique, key_sql FROM ops.opsmv_bundle_index WHERE changeset_id = ? ORDER BY seq")) {
            ps.setString(1, changesetId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new IndexSpec(rs.getString(1), rs.getBoolean(2), rs.getString(3)));
                }
            }
        }
        return out;
    }
}
