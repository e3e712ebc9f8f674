package dev.opsmv.cli;

import java.io.PrintWriter;

import dev.opsmv.migrate.AdoptionPlan;
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
        if (d.latentTotal() > 0) {
            out.println(prefix + "warning: " + d.latentTotal() + " latent duplicate grain(s): more than one claim per driver_id x milestone_value "
                    + "that the MV leaves out today (e.g. PAID claims); one entering it (a payment reversed) breaks every CONCURRENTLY refresh"
                    + (d.latentTotal() > d.latent().size() ? "; the first " + d.latent().size() + ":" : ":"));
            out.printf("%12s %15s %6s%n", "driver_id", "milestone_value", "claims");
            for (Preflight.DuplicateGrain g : d.latent()) {
                out.printf("%12d %15d %6d%n", g.driverId(), g.milestoneValue(), g.claims());
            }
        }
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

    /**
     * The adoption plan, one line per object where the database already holds something; on an empty
     * one a single line. {@code diffs}: the unified diff under each object that differs.
     */
    static void plan(PrintWriter out, String prefix, AdoptionPlan plan, boolean diffs) {
        if (plan.items().isEmpty()) {
            return;
        }
        if (!plan.meetsExistingObjects()) {
            out.println(prefix + "nothing of the bundle exists yet: " + plan.count("create") + " object(s) to create");
            return;
        }
        out.println(prefix + "this database already holds objects of the bundle: what update does with each");
        for (AdoptionPlan.Item i : plan.items()) {
            out.printf("%s%-8s %s (%s)%s%n", prefix, i.action(), i.object(), i.kind(), i.detail() == null ? "" : ": " + i.detail());
            if (diffs && "differs".equals(i.action())) {
                i.diff().forEach(line -> out.println(prefix + "    " + line));
            } else if (diffs && "conflict".equals(i.action()) && i.liveDefinition() != null) {
                out.println(prefix + "    this database: " + i.liveDefinition().replace("\n", " "));
                out.println(prefix + "    bundle:        " + i.bundleDefinition());
            }
        }
    }

    /** The pre-flight's duplicate grains in a JSON document (check-duplicates, update). */
    static void duplicatesJson(com.fasterxml.jackson.databind.node.ObjectNode doc, Preflight.Duplicates d) {
        doc.put("total", d.total());
        doc.set("duplicates", Output.tree(d.listed()));
        doc.put("latent_total", d.latentTotal());
        doc.set("latent", Output.tree(d.latent()));
    }

    /** The adoption plan in a JSON document: one entry per object, the differences of one that differs. */
    static com.fasterxml.jackson.databind.node.ArrayNode planJson(AdoptionPlan plan) {
        var items = Output.JSON.createArrayNode();
        for (AdoptionPlan.Item i : plan.items()) {
            var o = items.addObject().put("action", i.action()).put("object", i.object()).put("kind", i.kind()).put("detail", i.detail());
            if ("differs".equals(i.action())) {
                o.set("diff", Output.tree(i.diff()));
            }
        }
        return items;
    }
}
