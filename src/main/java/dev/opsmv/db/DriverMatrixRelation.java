package dev.opsmv.db;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The driver matrix's two relations, and which of them its endpoint reads when nothing holds a lock on the MV.
 * A catalog lookup, here so that `verify` can say what the endpoint would read without depending on the endpoint:
 * the endpoint itself never looks (it queries the MV and falls back on the error, see api.DriverMatrixService).
 */
public final class DriverMatrixRelation {
    public static final String MV = "ops.mv_payments_driver_matrix_cabinet";
    public static final String VIEW = "ops.v_payments_driver_matrix_cabinet";
    /** The MV's name without its schema, as pg_class and the refresh log spell it. */
    public static final String MV_NAME = "mv_payments_driver_matrix_cabinet";

    private DriverMatrixRelation() {
    }

    /** {@code relation} is MV or VIEW; {@code fallbackReason} says why not the MV (null when the MV). */
    public record Choice(String relation, String fallbackReason) {
        public boolean mv() {
            return MV.equals(relation);
        }
    }

    /** The MV when it exists and is populated, else the plain view. */
    public static Choice choose(Connection c) throws SQLException {
        Boolean populated = mvPopulated(c);
        if (populated == null) {
            return new Choice(VIEW, "materialized view " + MV + " does not exist");
        }
        if (!populated) {
            return new Choice(VIEW, "materialized view " + MV + " is not populated");
        }
        return new Choice(MV, null);
    }

    /** null: no such MV; from pg_class, not pg_matviews, whose definition column would lock the MV. */
    private static Boolean mvPopulated(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT c.relispopulated FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE n.nspname = 'ops' AND c.relname = '" + MV_NAME + "' AND c.relkind = 'm'")) {
            return rs.next() ? rs.getBoolean(1) : null;
        }
    }
}
