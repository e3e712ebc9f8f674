package dev.opsmv.verify;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import dev.opsmv.db.Relations;

/** Duplicates on the rows the claims MV will hold fail; latent ones (filtered out today) are a warning with the count. */
final class DuplicateGrainChecks {
    private static final Check.Section SECTION = Check.Section.DUPLICATE_GRAINS;
    private static final String CLAIMS = "ops.mv_yango_cabinet_claims_for_collection";

    private DuplicateGrainChecks() {
    }

    static void run(Connection c, Checklist list) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet fn = st.executeQuery("SELECT to_regprocedure('ops.opsmv_claims_grain_duplicates()') IS NOT NULL")) {
            fn.next();
            if (!fn.getBoolean(1)) {
                return;
            }
        }
        List<String> grain = Relations.missingColumns(c, "ops", "mv_yango_cabinet_claims_for_collection", List.of("driver_id", "milestone_value"));
        if (!grain.isEmpty()) {
            list.add(SECTION, false, "duplicate grains of " + CLAIMS,
                    Relations.missingColumnsLine(CLAIMS, grain, "its grain cannot be checked"));
            return;
        }
        long current = 0;
        long latent = 0;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FILTER (WHERE NOT latent), count(*) FILTER (WHERE latent) FROM ops.opsmv_claims_grain_duplicates()")) {
            rs.next();
            current = rs.getLong(1);
            latent = rs.getLong(2);
        }
        list.add(SECTION, current == 0, "duplicate grains of " + CLAIMS,
                current == 0 ? "none" : current + " grain(s) the MV would hold twice: every CONCURRENTLY refresh fails; list them with `opsmv check-duplicates`");
        if (latent > 0) {
            list.warn(SECTION, "latent duplicate grains of " + CLAIMS, latent
                    + " latent grain(s) filtered out today (e.g. PAID claims) would enter it if a payment is reversed and break every "
                    + "CONCURRENTLY refresh: `opsmv check-duplicates` lists them");
        }
    }
}
