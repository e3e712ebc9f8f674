package dev.opsmv.cli;

import java.io.PrintWriter;

import dev.opsmv.migrate.Preflight;

/** Text layouts shared by several commands (the pre-flight of update and check-duplicates, SQL scripts). */
final class Reports {
    private Reports() {
    }

    /** Something that writes a script to a byte stream, as Liquibase does. */
    interface Script {
        void writeTo(java.io.OutputStream out) throws Exception;
    }

    /** A Liquibase script on the command's own writer (picocli's), not on System.out beside it. */
    static void script(PrintWriter out, Script script) throws Exception {
        var buffer = new java.io.ByteArrayOutputStream();
        script.writeTo(buffer);
        out.print(buffer.toString(java.nio.charset.StandardCharsets.UTF_8));
        out.flush();
    }

    static void duplicates(PrintWriter out, String prefix, String table, Preflight.Duplicates d) {
        if (!d.any()) {
            out.println(prefix + "no duplicate grains in " + table);
            return;
        }
        out.println(prefix + d.total() + " duplicate grain(s) in " + table + " (more than one claim per driver_id x milestone_value)"
                + (d.total() > d.listed().size() ? "; the first " + d.listed().size() + ":" : ":"));
        out.printf("%12s %15s %6s%n", "driver_id", "milestone_value", "claims");
        for (Preflight.DuplicateGrain g : d.listed()) {
            out.printf("%12d %15d %6d%n", g.driverId(), g.milestoneValue(), g.claims());
        }
    }

    static void invalidIndexes(PrintWriter out, String prefix, java.util.List<Preflight.InvalidIndex> invalid) {
        if (invalid.isEmpty()) {
            out.println(prefix + "no INVALID index owned by the bundle");
            return;
        }
        for (Preflight.InvalidIndex i : invalid) {
            out.println(prefix + "INVALID index " + i.qualifiedName() + " on " + i.table()
                    + " (left by a failed concurrent build): update rebuilds it while its changeset is pending; "
                    + "otherwise run REINDEX INDEX CONCURRENTLY " + i.qualifiedName());
        }
    }
}
