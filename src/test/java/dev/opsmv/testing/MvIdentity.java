package dev.opsmv.testing;

import java.util.List;

import dev.opsmv.db.ConnectionSpec;

/**
 * Everything about a materialized view that a rebuild must carry, one sorted line per fact, its OID
 * and its rows apart: owner, comment, heap and TOAST storage parameters, tablespace, populated flag,
 * columns with their comments, statistics targets, options and storage, table and column grants
 * with their grantors, every index (definition, validity, comment, the CLUSTER mark, index column
 * statistics targets) and every object that depends on the MV or on its row type. Two snapshots taken
 * before and after a swap, a release or a rollback are equal when nothing was lost.
 *
 * <p>Statistics targets print the same on every major: PostgreSQL 17 stores "default" as NULL, earlier
 * majors as -1.
 */
public final class MvIdentity {
    private MvIdentity() {
    }

    public static List<String> of(ConnectionSpec db, String mv) {
        return Sql.strings(db, QUERY.formatted(mv));
    }

    /** The same lines without the definition: for a release that changes the query on purpose. */
    public static List<String> withoutDefinition(ConnectionSpec db, String mv) {
        return of(db, mv).stream().filter(l -> !l.startsWith("definition ")).toList();
    }

    private static final String QUERY = """
            WITH m AS (SELECT c.* , c.oid AS moid FROM pg_class c WHERE c.oid = '%1$s'::regclass)
            SELECT line FROM (
                SELECT 'owner ' || pg_get_userbyid(m.relowner) AS line FROM m
                UNION ALL SELECT 'comment ' || coalesce(obj_description(m.moid, 'pg_class'), '-') FROM m
                UNION ALL SELECT 'reloptions ' || coalesce(array_to_string(m.reloptions, ','), '-') FROM m
                UNION ALL SELECT 'toast reloptions ' || coalesce(array_to_string(t.reloptions, ','), '-')
                          FROM m LEFT JOIN pg_class t ON t.oid = m.reltoastrelid
                UNION ALL SELECT 'tablespace ' || coalesce((SELECT spcname FROM pg_tablespace WHERE oid = m.reltablespace), '-') FROM m
                UNION ALL SELECT 'populated ' || m.relispopulated FROM m
                UNION ALL SELECT 'grant ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' '
                                 || a.privilege_type || ' grantable=' || a.is_grantable || ' by ' || pg_get_userbyid(a.grantor)
                          FROM m, aclexplode(m.relacl) a
                UNION ALL SELECT 'column ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                 || ' comment=' || coalesce(col_description(a.attrelid, a.attnum), '-')
                                 || ' statistics=' || coalesce(nullif(a.attstattarget::int, -1)::text, 'default')
                                 || ' options=' || coalesce(array_to_string(a.attoptions, ','), '-')
                                 || ' storage=' || a.attstorage::text
                          FROM m JOIN pg_attribute a ON a.attrelid = m.moid WHERE a.attnum > 0 AND NOT a.attisdropped
                UNION ALL SELECT 'column grant ' || a.attname || ' ' || CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END
                                 || ' ' || x.privilege_type || ' grantable=' || x.is_grantable || ' by ' || pg_get_userbyid(x.grantor)
                          FROM m JOIN pg_attribute a ON a.attrelid = m.moid, aclexplode(a.attacl) x
                          WHERE a.attacl IS NOT NULL
                UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
                                 || ' clustered=' || i.indisclustered
                                 || ' comment=' || coalesce(obj_description(i.indexrelid, 'pg_class'), '-')
                                 || coalesce(' statistics=' || (SELECT string_agg(ia.attnum || ':' || ia.attstattarget, ',' ORDER BY ia.attnum)
                                                                FROM pg_attribute ia WHERE ia.attrelid = i.indexrelid
                                                                  AND coalesce(ia.attstattarget::int, -1) <> -1), '')
                          FROM m JOIN pg_index i ON i.indrelid = m.moid
                UNION ALL SELECT 'dependent ' || pg_describe_object(d.classid, d.objid, 0)
                          FROM m JOIN pg_depend d ON (d.refclassid = 'pg_class'::regclass AND d.refobjid = m.moid)
                                                  OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = m.reltype)
                          WHERE d.deptype IN ('n', 'a')
                            AND NOT (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT indexrelid FROM pg_index WHERE indrelid = m.moid))
                            AND NOT (d.classid = 'pg_rewrite'::regclass AND d.objid IN (SELECT oid FROM pg_rewrite WHERE ev_class = m.moid))
                UNION ALL SELECT 'definition ' || pg_get_viewdef(m.moid) FROM m
            ) s ORDER BY line
            """;
}
