package dev.opsmv.swap;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Why the current user cannot rebuild an MV beside the serving one and swap it in, read from the
 * catalog before anything is built, so that a refusal changes nothing and {@code --method auto} can
 * pick another method with the reason.
 *
 * <p>A swap drops the old relation: everything bound to it by OID (its row type included) would
 * either block the DROP (2BP01 on every run) or be left bound to the old MV; a swap also acts as the
 * owner and as every role that granted privileges on the MV, so that the new MV carries them exactly.
 */
final class Obstacles {
    private Obstacles() {
    }

    static List<String> of(Connection c, String schema, String name) throws SQLException {
        return of(c, schema, name, true);
    }

    /**
     * @param readersCount false for a member of a chain swap, whose readers are rebuilt and swapped with it
     *                     (every reader is a member: the chain is the whole downstream subgraph)
     */
    static List<String> of(Connection c, String schema, String name, boolean readersCount) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT pg_has_role(current_user, m.relowner, 'USAGE'), pg_get_userbyid(m.relowner),
                       has_schema_privilege(m.relnamespace, 'CREATE'),
                       -- views and MVs that read it (their rewrite rule depends on it)
                       (SELECT string_agg(DISTINCT quote_ident(dn.nspname) || '.' || quote_ident(dc.relname), ', ')
                        FROM pg_depend dp JOIN pg_rewrite rw ON rw.oid = dp.objid
                        JOIN pg_class dc ON dc.oid = rw.ev_class JOIN pg_namespace dn ON dn.oid = dc.relnamespace
                        WHERE dp.classid = 'pg_rewrite'::regclass AND dp.refclassid = 'pg_class'::regclass
                          AND dp.refobjid = m.oid AND rw.ev_class <> m.oid),
                       -- everything else bound to it or to its row type: SQL-standard function bodies that name
                       -- it, functions taking or returning its rows, table columns and types of its row type
                       (SELECT string_agg(DISTINCT (SELECT o.type || ' ' || o.identity FROM pg_identify_object(dp.classid, dp.objid, 0) o), ', ')
                        FROM pg_depend dp
                        WHERE ((dp.refclassid = 'pg_class'::regclass AND dp.refobjid = m.oid)
                               OR (dp.refclassid = 'pg_type'::regclass AND dp.refobjid = m.reltype))
                          AND dp.deptype IN ('n', 'a')
                          AND dp.classid NOT IN ('pg_rewrite'::regclass, 'pg_statistic_ext'::regclass)
                          AND NOT (dp.classid = 'pg_class'::regclass
                                   AND dp.objid IN (SELECT indexrelid FROM pg_index WHERE indrelid = m.oid))),
                       (SELECT string_agg(quote_ident(sn.nspname) || '.' || quote_ident(s.stxname), ', ')
                        FROM pg_statistic_ext s JOIN pg_namespace sn ON sn.oid = s.stxnamespace WHERE s.stxrelid = m.oid),
                       -- a failed CREATE INDEX CONCURRENTLY's leftover: rebuilt on the new MV it would fail (23505) on every run
                       (SELECT string_agg(quote_ident(ic.relname), ', ')
                        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = m.oid AND NOT i.indisvalid),
                       -- grants made by roles this session cannot act as: they cannot be re-made by their grantor
                       (SELECT string_agg(DISTINCT quote_ident(pg_get_userbyid(g.grantor)), ', ')
                        FROM (SELECT a.grantor FROM aclexplode(m.relacl) a
                              UNION ALL
                              SELECT x.grantor FROM pg_attribute at, aclexplode(at.attacl) x
                              WHERE at.attrelid = m.oid AND at.attnum > 0 AND at.attacl IS NOT NULL) g
                        WHERE g.grantor <> m.relowner AND NOT pg_has_role(current_user, g.grantor, 'MEMBER')),
                       -- rules of its own besides the view's query (a view's DO INSTEAD rules): not rebuilt
                       (SELECT string_agg(quote_ident(rulename), ', ') FROM pg_rewrite WHERE ev_class = m.oid AND rulename <> '_RETURN')
                FROM pg_class m JOIN pg_namespace n ON n.oid = m.relnamespace
                WHERE n.nspname = ? AND m.relname = ? AND m.relkind IN ('m', 'v')
                """)) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("materialized view or view " + schema + "." + name + " does not exist", "42P01");
                }
                if (rs.getString(9) != null) {
                    out.add("it has rules of its own (" + rs.getString(9) + "), which the swap does not rebuild");
                }
                if (readersCount && rs.getString(4) != null) {
                    out.add("other objects read it (" + rs.getString(4) + "): they are bound to the old MV, which the swap drops "
                            + "(swap it with them: --cascade)");
                }
                if (rs.getString(5) != null) {
                    out.add("other objects are bound to it or to its row type (" + rs.getString(5)
                            + "): the swap would have to drop them with the old MV");
                }
                if (rs.getString(6) != null) {
                    out.add("it carries extended statistics (" + rs.getString(6) + "), which the swap does not rebuild");
                }
                if (rs.getString(7) != null) {
                    out.add("index " + rs.getString(7) + " is INVALID (a failed CREATE INDEX CONCURRENTLY): drop it or run `opsmv reindex` first");
                }
                if (!rs.getBoolean(1)) {
                    out.add("it is owned by " + rs.getString(2) + " and the swap creates and drops it: connect as its owner (or a member of that role)");
                } else if (!rs.getBoolean(3)) {
                    out.add("the new MV is built in schema " + schema + ", where " + "this role has no CREATE privilege");
                }
                if (rs.getString(8) != null) {
                    out.add("it has grants made by " + rs.getString(8) + ", which the swap re-makes as their grantor: connect as a superuser or a member of "
                            + (rs.getString(8).contains(",") ? "those roles" : "that role"));
                }
            }
        }
        return out;
    }
}
