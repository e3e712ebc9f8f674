package dev.opsmv.testing;

import java.util.List;

import dev.opsmv.db.ConnectionSpec;

/** A textual snapshot of everything the bundle owns, for comparing two databases or two moments. */
public final class Catalog {
    private Catalog() {
    }

    /** One line per object: relations of schema ops (with columns and populated flag), every index the bundle owns, ops functions. */
    public static List<String> snapshot(ConnectionSpec spec) {
        return Sql.strings(spec, """
                SELECT line FROM (
                    SELECT 'rel ' || c.relname || ' kind=' || c.relkind::text
                           || coalesce(' populated=' || mv.ispopulated, '')
                           || ' cols=' || coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                                                   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS line
                    FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    LEFT JOIN pg_matviews mv ON mv.schemaname = n.nspname AND mv.matviewname = c.relname
                    WHERE n.nspname = 'ops' AND c.relkind IN ('r', 'v', 'm')
                    UNION ALL
                    SELECT 'idx ' || n.nspname || '.' || ic.relname || ' valid=' || i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid)
                    FROM pg_index i
                    JOIN pg_class ic ON ic.oid = i.indexrelid
                    JOIN pg_namespace n ON n.oid = ic.relnamespace
                    WHERE n.nspname = 'ops' OR ic.relname LIKE 'idx\\_%'
                    UNION ALL
                    SELECT 'fn ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'ops'
                    UNION ALL
                    SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = 'ops'
                ) s ORDER BY line
                """);
    }

    /** DATABASECHANGELOG as "filename::id::author" in execution order. */
    public static List<String> history(ConnectionSpec spec) {
        return Sql.strings(spec, "SELECT filename || '::' || id || '::' || author FROM databasechangelog ORDER BY orderexecuted");
    }

    /** DATABASECHANGELOG rows as a Liquibase user compares them: what ran, from which file, its checksum, how, the tags. */
    public static List<String> changelogRows(ConnectionSpec spec) {
        return Sql.strings(spec, """
                SELECT concat_ws(' | ', id, author, filename, md5sum, exectype, coalesce(tag, '-'), coalesce(description, '-'))
                FROM databasechangelog ORDER BY orderexecuted""");
    }
}
