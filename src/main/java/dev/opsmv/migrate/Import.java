package dev.opsmv.migrate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.opsmv.db.Causes;
import dev.opsmv.db.Session;

/**
 * `opsmv import`: when production's definition of a bundle MV is the truth, it becomes the bundle's
 * next version. For each MV whose live definition differs from the bundle's latest, writes
 * {@code ops/mviews/<name>_vNN.sql} (built beside the serving MV and swapped in, as release v1.1 does, between
 * a capture and a restore of what is attached to the MV; its rollback restores the previous version the same
 * way), a catalogue changeset so that the
 * adoption gate recognises the imported definition on the database it came from (adopted, nothing
 * rebuilt), and a release file with its tag, included by the master changelog. A differing plain view with the
 * bundle's columns is written as {@code ops/views/<name>_vNN.sql} (CREATE OR REPLACE VIEW both ways). Nothing is
 * written until the release has been applied on the database in a transaction that is rolled back.
 */
public final class Import {
    /**
     * @param notWritten the bundle's indexes left out of an imported version, each with why and what follows
     */
    public record Result(String release, List<Path> written, List<String> objects, List<String> notWritten) {
    }

    /** What one MV looks like here (live) and in the bundle's latest version (previous). */
    record Mv(String schema, String name, String previousChangeset, String liveDefinition, String previousDefinition,
              List<Index> liveIndexes, List<Index> previousIndexes, String comment, List<String> notWritten, List<String> notApplicable) {
    }

    /**
     * A plain view whose live definition is not the bundle's latest. {@code columnsChange}: null when it has that
     * version's columns (CREATE OR REPLACE VIEW both ways), else how they differ (rebuilt with what reads it).
     */
    record View(String schema, String name, String previousChangeset, String liveDefinition, String previousDefinition, String columnsChange) {
    }

    /**
     * What import makes the bundle's. In the release the MVs come first and the views last: rolled back, a view
     * whose columns change is put back (with the MVs that read it, from their definitions) before those MVs are.
     */
    record Differing(List<View> views, List<Mv> mvs) {
        boolean isEmpty() {
            return views.isEmpty() && mvs.isEmpty();
        }
    }

    /** {@code key}: what follows "ON table" in CREATE INDEX; {@code ownChangeset}: built by a changeset of its own (the grain). */
    record Index(String name, boolean unique, String key, boolean ownChangeset) {
    }

    private static final Pattern INDEX_DEF = Pattern.compile("^CREATE (UNIQUE )?INDEX (\\S+) ON (?:ONLY )?\\S+ USING (\\S+) (.*)$");

    private final Connection c;
    private final Migrator migrator;
    private final Path changelogDir;
    private final String sourceSchema;

    public Import(Connection c, Migrator migrator, Path changelogDir, String sourceSchema) {
        this.c = c;
        this.migrator = migrator;
        this.changelogDir = changelogDir;
        this.sourceSchema = sourceSchema;
    }

    public Result run(String release) throws Exception {
        if (!Files.isRegularFile(changelogDir.resolve("db.changelog-master.yaml"))) {
            throw new IllegalArgumentException(changelogDir + " holds no db.changelog-master.yaml: --into must be the bundle's changelog/ directory");
        }
        Differing found = differing();
        List<Mv> differing = found.mvs();
        if (found.isEmpty()) {
            return new Result(null, List.of(), List.of(), List.of());
        }
        String rel = release != null ? release : nextRelease();
        if (Files.exists(changelogDir.resolve("releases").resolve(rel + ".yaml"))) {
            throw new IllegalArgumentException("release " + rel + " exists already in " + changelogDir.resolve("releases") + ": name another with --release");
        }
        // Everything is composed first, proven on this database, and only then written: a release that
        // cannot be applied is never written (nor half of one).
        Map<Path, String> files = new LinkedHashMap<>();
        List<String> objects = new ArrayList<>();
        List<String> changesets = new ArrayList<>();
        StringBuilder catalogue = new StringBuilder("--liquibase formatted sql\n\n--changeset opsmv:" + rel + "-catalogue splitStatements:false\n"
                + "--comment: Definitions imported by `opsmv import` on " + LocalDate.now() + " (release " + rel + "), for the adoption gate: "
                + "the database they came from adopts them as they are.\nSET LOCAL lock_timeout = '${lock_timeout}';\n");
        StringBuilder releaseYaml = new StringBuilder("# Release " + rel + ": production's definitions made the bundle's (`opsmv import`, " + LocalDate.now()
                + "). Each MV is rebuilt beside the serving one and swapped in; the database they were imported from adopts them\n"
                + "# unchanged. `rollback --tag` to the previous release restores the previous versions.\ndatabaseChangeLog:\n");
        int seq = 2000 + 10 * existingCatalogues();
        for (Mv mv : differing) {
            int version = nextVersion("mviews", mv.name());
            String changeset = rel + "-" + mv.name();
            Path file = Path.of("ops", "mviews", String.format("%s_v%02d.sql", mv.name(), version));
            files.put(file, mvFile(mv, changeset, version));
            objects.add(mv.schema() + "." + mv.name());
            changesets.add(changeset);
            releaseYaml.append("  - include: { file: ../ops/mviews/").append(file.getFileName()).append(", relativeToChangelogFile: true }\n");
            seq += 1;
            catalogue.append(catalogued(seq, changeset, "matview", mv.schema(), mv.name(), mv.liveDefinition()));
            int k = 0;
            for (Index i : newIndexes(mv)) {
                if (i.ownChangeset()) {
                    continue; // the grain index keeps its own guarded changeset
                }
                catalogue.append("INSERT INTO ops.opsmv_bundle_index (seq, changeset_id, index_schema, index_name, table_schema, table_name, is_unique, key_sql) VALUES (")
                        .append(seq * 10 + (++k)).append(", ").append(lit(changeset)).append(", ").append(lit(mv.schema())).append(", ")
                        .append(lit(i.name())).append(", ").append(lit(mv.schema())).append(", ").append(lit(mv.name())).append(", ")
                        .append(i.unique()).append(", ").append(lit(i.key())).append(")\nON CONFLICT (changeset_id, index_schema, index_name) DO NOTHING;\n");
            }
        }
        for (View v : found.views()) {
            int version = nextVersion("views", v.name());
            String changeset = rel + "-" + v.name();
            Path file = Path.of("ops", "views", String.format("%s_v%02d.sql", v.name(), version));
            files.put(file, viewFile(v, changeset, version));
            objects.add(v.schema() + "." + v.name());
            changesets.add(changeset);
            releaseYaml.append("  - include: { file: ../ops/views/").append(file.getFileName()).append(", relativeToChangelogFile: true }\n");
            seq += 1;
            catalogue.append(catalogued(seq, changeset, "view", v.schema(), v.name(), v.liveDefinition()));
        }
        catalogue.append("--rollback SET LOCAL lock_timeout = '${lock_timeout}';\n");
        for (String changeset : changesets) {
            catalogue.append("--rollback DELETE FROM ops.opsmv_bundle_index WHERE changeset_id = ").append(lit(changeset)).append(";\n");
            catalogue.append("--rollback DELETE FROM ops.opsmv_bundle_object WHERE changeset_id = ").append(lit(changeset)).append(";\n");
        }
        Path catalogueFile = Path.of("ops", "adoption", "catalogue_" + rel + ".sql");
        files.put(catalogueFile, catalogue.toString());
        Path catalogueYaml = Path.of("ops", "adoption", "catalogue.yaml");
        files.put(catalogueYaml, Files.readString(changelogDir.resolve(catalogueYaml)) + "  - include: { file: " + catalogueFile.getFileName()
                + ", relativeToChangelogFile: true }\n");

        releaseYaml.append("  - changeSet:\n      id: ").append(rel).append("-tag\n      author: opsmv\n      changes:\n        - tagDatabase:\n")
                .append("            tag: ").append(rel).append("\n            keepTagOnRollback: true\n");
        files.put(Path.of("releases", rel + ".yaml"), releaseYaml.toString());
        Path master = Path.of("db.changelog-master.yaml");
        files.put(master, Files.readString(changelogDir.resolve(master)) + "  - include:\n      file: releases/" + rel + ".yaml\n      relativeToChangelogFile: true\n");

        prove(files, rel, changesets);

        List<Path> written = new ArrayList<>();
        for (Map.Entry<Path, String> f : files.entrySet()) {
            Path target = changelogDir.resolve(f.getKey());
            Files.writeString(target, f.getValue(), StandardCharsets.UTF_8);
            written.add(target);
        }
        List<String> notWritten = new ArrayList<>();
        differing.forEach(mv -> notWritten.addAll(mv.notWritten()));
        return new Result(rel, written, objects, notWritten);
    }

    /** The catalogue row by which the adoption gate recognises an imported definition. */
    private static String catalogued(int seq, String changeset, String kind, String schema, String name, String definition) {
        return "INSERT INTO ops.opsmv_bundle_object (seq, changeset_id, object_kind, object_schema, object_name, definition) VALUES ("
                + seq * 10 + ", " + lit(changeset) + ", " + lit(kind) + ", " + lit(schema) + ", " + lit(name) + ", $def$\n" + definition + "\n$def$)\n"
                + "ON CONFLICT (changeset_id, object_schema, object_name) DO UPDATE SET definition = EXCLUDED.definition;\n";
    }

    /**
     * Applies the release about to be written, as Liquibase parses it from a copy of the changelog with the
     * files in place, inside a transaction that is rolled back: the catalogue, then each imported version's
     * rollback (this database holds the imported version: back to the previous one) and its changeset
     * (previous to imported), so both directions are shown to apply here. ops.opsmv_rebuild builds the MVs
     * empty there ({@code opsmv.rebuild_empty}): the live MV already computes the imported query on these rows,
     * and the data of its unique indexes was checked when they were read; the serving MV's lock is held for
     * milliseconds, not for two rebuilds.
     */
    private void prove(Map<Path, String> files, String rel, List<String> changesets) throws Exception {
        Path scratch = Files.createTempDirectory("opsmv-import");
        Path copy = scratch.resolve("changelog");
        boolean autoCommit = c.getAutoCommit();
        String step = rel + "-catalogue";
        try {
            copyTree(changelogDir, copy);
            for (Map.Entry<Path, String> f : files.entrySet()) {
                Files.writeString(copy.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
            }
            Migrator proof = migrator.readingFrom(copy);
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                AdoptionPlan.installMachinery(c, proof);
                for (String sql : proof.changeSetSql(cs -> cs.getId().startsWith(Changelog.CARRY_CHANGESETS)
                        || cs.getId().equals(Changelog.REBUILD_CHANGESET))) {
                    st.execute(sql);
                }
                Session.setLocal(c, "opsmv.rebuild_empty", "on");
                // as `rollback --tag` to the previous release and `update` again would run them
                List<String> backwards = new ArrayList<>(changesets);
                java.util.Collections.reverse(backwards);
                for (String changeset : backwards) {
                    step = changeset + " (its rollback)";
                    st.execute(proof.rollbackSql(changeset));
                }
                for (String changeset : changesets) {
                    step = changeset;
                    st.execute(proof.changeSetSql(changeset));
                }
            } catch (SQLException e) {
                throw new IllegalStateException("import: release " + rel + " does not apply on this database, so nothing was written: " + step + " fails with \""
                        + Causes.firstLine(e) + "\"; change what it names in production "
                        + "(or in the bundle) and import again");
            } finally {
                c.rollback();
                c.setAutoCommit(autoCommit);
            }
        } finally {
            try (Stream<Path> walk = Files.walk(scratch)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path f : (Iterable<Path>) walk::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    /** The views and MVs whose live definition is not the bundle's latest, read in a transaction that is rolled back. */
    private Differing differing() throws Exception {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        List<Mv> out = new ArrayList<>();
        List<View> views = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            AdoptionPlan.installMachinery(c, migrator);
            // fully qualified names in what pg_get_viewdef writes, so the file names the source schema
            Session.setLocal(c, "search_path", "pg_catalog");
            List<String[]> latest = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("""
                    SELECT DISTINCT ON (object_schema, object_name) object_schema, object_name, object_kind, changeset_id, definition
                    FROM ops.opsmv_bundle_object WHERE object_kind IN ('matview', 'matview-version', 'view')
                    ORDER BY object_schema, object_name, seq DESC""")) {
                while (rs.next()) {
                    latest.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)});
                }
            }
            for (String[] o : latest) {
                if (o[1].contains("health")) {
                    continue; // derived from the log: adoption sets a health view of another shape aside, nothing to import
                }
                // production's own definition: matches no version of the bundle (an older one is upgraded by its release)
                boolean own;
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object b
                                       WHERE b.object_schema = ? AND b.object_name = ?
                                         AND (ops.opsmv_compare_relation(b.object_schema, b.object_name, b.object_kind, b.definition)).state = 'differs')
                           AND NOT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object b
                                       WHERE b.object_schema = ? AND b.object_name = ?
                                         AND (ops.opsmv_compare_relation(b.object_schema, b.object_name, b.object_kind, b.definition)).state <> 'differs')""")) {
                    ps.setString(1, o[0]);
                    ps.setString(2, o[1]);
                    ps.setString(3, o[0]);
                    ps.setString(4, o[1]);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        own = rs.getBoolean(1);
                    }
                }
                if (!own) {
                    continue;
                }
                // a matview-version: a release that kept the query and changed the indexes (v1.1's driver matrix)
                if (!"matview".equals(o[2]) && !"matview-version".equals(o[2])) {
                    views.add(new View(o[0], o[1], o[3], liveDefinition(o[0], o[1]), o[4], columnsChange(o[0], o[1], o[4])));
                    continue;
                }
                out.add(read(o[0], o[1], o[3], o[4]));
            }
        } finally {
            c.rollback();
            c.setAutoCommit(autoCommit);
        }
        return new Differing(views, out);
    }

    /**
     * Null when the live view has the columns of the bundle's latest version (names and types, in order), so
     * CREATE OR REPLACE VIEW turns either into the other and keeps its grants, owner, comment and readers;
     * else how they differ. PostgreSQL cannot drop or retype a view's columns in place: a change of columns is
     * a drop and create, which the view's readers (the driver matrix MV reads its view) follow: ops.opsmv_rebuild.
     */
    private String columnsChange(String schema, String name, String previousDefinition) throws SQLException {
        List<String> live = columns("'\"" + schema + "\".\"" + name + "\"'::regclass");
        List<String> previous;
        try (Statement st = c.createStatement()) {
            st.execute("SAVEPOINT opsmv_import_view");
            try {
                st.execute("CREATE TEMP VIEW opsmv_import_view_probe AS " + previousDefinition);
                previous = columns("'pg_temp.opsmv_import_view_probe'::regclass");
            } finally {
                st.execute("ROLLBACK TO SAVEPOINT opsmv_import_view");
            }
        }
        if (live.equals(previous)) {
            return null;
        }
        List<String> added = live.stream().filter(col -> !previous.contains(col)).toList();
        List<String> gone = previous.stream().filter(col -> !live.contains(col)).toList();
        List<String> what = new ArrayList<>();
        if (!added.isEmpty()) {
            what.add("production adds " + String.join(", ", added));
        }
        if (!gone.isEmpty()) {
            what.add("production lacks the bundle's " + String.join(", ", gone));
        }
        if (what.isEmpty()) {
            what.add("the same columns in another order");
        }
        return String.join("; ", what);
    }

    private List<String> columns(String regclass) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                     + regclass + " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private String liveDefinition(String schema, String name) throws SQLException {
        return Session.text(c, "SELECT pg_get_viewdef(?::regclass, true)", "\"" + schema + "\".\"" + name + "\"").strip().replaceAll(";$", "");
    }

    private String viewFile(View v, String changeset, int version) {
        String q = v.schema() + "." + v.name();
        StringBuilder f = new StringBuilder("--liquibase formatted sql\n\n");
        f.append("--changeset opsmv:").append(changeset).append('\n');
        if (v.columnsChange() != null) {
            f.append("--comment: Version ").append(version).append(" of ").append(q).append(": the definition production ran, imported by `opsmv import` on ")
                    .append(LocalDate.now()).append(" (the previous version is ").append(v.previousChangeset()).append("). Its columns differ (")
                    .append(v.columnsChange()).append("), which CREATE OR REPLACE VIEW cannot do: rebuilt with every view and MV that reads it and swapped in, "
                            + "in this transaction, both ways (ops.opsmv_rebuild). The database it was imported from adopts it (marked ran).\n");
            f.append("--preconditions onFail:MARK_RAN onError:HALT\n");
            f.append("--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('").append(changeset).append("')\n");
            f.append(rebuild(v.schema(), v.name(), v.liveDefinition(), "[]", List.of(), ""));
            f.append(rebuild(v.schema(), v.name(), v.previousDefinition(), "[]", List.of(), "--rollback "));
            return f.toString();
        }
        f.append("--comment: Version ").append(version).append(" of ").append(q).append(": the definition production ran, imported by `opsmv import` on ")
                .append(LocalDate.now()).append(" (the previous version is ").append(v.previousChangeset())
                .append("). Same columns as the previous version, so CREATE OR REPLACE VIEW keeps its grants, owner, comment and readers; "
                        + "an MV that reads it computes the new query at its next refresh. On the database it was imported from it replaces the view with itself.\n");
        f.append("SET LOCAL lock_timeout = '${lock_timeout}';\n");
        f.append("CREATE OR REPLACE VIEW ").append(q).append(" AS\n").append(schemaParameter(v.liveDefinition())).append(";\n");
        f.append("--rollback SET LOCAL lock_timeout = '${lock_timeout}';\n");
        f.append("--rollback CREATE OR REPLACE VIEW ").append(q).append(" AS\n");
        for (String line : (schemaParameter(v.previousDefinition()) + ";").split("\n")) {
            f.append("--rollback ").append(line).append('\n');
        }
        return f.toString();
    }

    private Mv read(String schema, String name, String previousChangeset, String previousDefinition) throws SQLException {
        String qualified = "\"" + schema + "\".\"" + name + "\"";
        String live;
        String comment;
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_viewdef(?::regclass, true), obj_description(?::regclass, 'pg_class')")) {
            ps.setString(1, qualified);
            ps.setString(2, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                live = rs.getString(1).strip().replaceAll(";$", "");
                comment = rs.getString(2);
            }
        }
        List<Index> liveIndexes = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        + "WHERE i.indrelid = ?::regclass AND i.indisvalid ORDER BY c.relname")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Matcher m = INDEX_DEF.matcher(rs.getString(1));
                    if (m.matches()) {
                        liveIndexes.add(new Index(m.group(2), m.group(1) != null, "USING " + m.group(3) + " " + m.group(4), false));
                    }
                }
            }
        }
        List<Index> previous = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT index_name, is_unique, key_sql,
                       NOT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object o WHERE o.changeset_id = b.changeset_id) AS own
                FROM ops.opsmv_bundle_index b
                WHERE table_schema = ? AND table_name = ?
                  AND (changeset_id = ? OR NOT EXISTS (SELECT 1 FROM ops.opsmv_bundle_object o WHERE o.changeset_id = b.changeset_id))
                ORDER BY seq""")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            ps.setString(3, previousChangeset);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    previous.add(new Index(rs.getString(1), rs.getBoolean(2), rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        // A bundle index the live MV lacks is written onto the imported version only where that version has
        // every column it reads and, for a unique one, where production's rows are unique on it: built on a
        // copy of the live MV's rows (its columns only, when it is not populated), in this rolled-back
        // transaction. The release is proven later with MVs built empty, so the rows are checked here.
        List<String> notApplicable = new ArrayList<>();
        List<String> notWritten = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS pg_temp.opsmv_import_probe");
            st.execute("CREATE TEMP TABLE opsmv_import_probe AS SELECT * FROM " + qualified
                    + (populated(qualified) ? " WITH DATA" : " WITH NO DATA"));
            for (Index b : previous) {
                if (liveIndexes.stream().anyMatch(i -> i.name().equals(b.name()))) {
                    continue;
                }
                st.execute("SAVEPOINT opsmv_import_probe");
                try {
                    st.execute("CREATE " + (b.unique() ? "UNIQUE " : "") + "INDEX ON pg_temp.opsmv_import_probe " + b.key());
                } catch (SQLException e) {
                    notApplicable.add(b.name());
                    String why = Causes.firstLine(e);
                    notWritten.add(schema + "." + b.name() + " " + b.key() + ": not written onto the imported " + schema + "." + name + " (" + why + "): "
                            + ("23505".equals(e.getSQLState())
                                    ? "production's rows are not unique on it, so the imported version keeps production's own indexes; "
                                            + "fix the duplicates (opsmv check-duplicates) and import again to keep it"
                                    : "queries of the bundle that filter on those columns find no index there (and no column); "
                                            + "add the columns to production's definition and import again to keep it"));
                }
                st.execute("ROLLBACK TO SAVEPOINT opsmv_import_probe");
            }
            st.execute("DROP TABLE pg_temp.opsmv_import_probe");
        }
        return new Mv(schema, name, previousChangeset, live, previousDefinition, liveIndexes, previous, comment, notWritten, notApplicable);
    }

    private boolean populated(String qualified) throws SQLException {
        return Session.isTrue(c, "SELECT relispopulated FROM pg_class WHERE oid = ?::regclass", qualified);
    }

    /** The imported version's indexes: the live ones, plus the bundle's that the live MV lacks (by name) and whose columns it has. */
    private static List<Index> newIndexes(Mv mv) {
        List<Index> out = new ArrayList<>(mv.liveIndexes());
        for (Index b : mv.previousIndexes()) {
            if (out.stream().noneMatch(i -> i.name().equals(b.name())) && !mv.notApplicable().contains(b.name())) {
                out.add(b);
            }
        }
        return out;
    }

    private String mvFile(Mv mv, String changeset, int version) {
        String q = mv.schema() + "." + mv.name();
        StringBuilder f = new StringBuilder("--liquibase formatted sql\n\n");
        f.append("--changeset opsmv:").append(changeset).append('\n');
        f.append("--comment: Version ").append(version).append(" of ").append(q).append(": the definition production ran, imported by `opsmv import` on ")
                .append(LocalDate.now()).append(" (the previous version is ").append(mv.previousChangeset())
                .append("). Built beside the serving MV, with every view and MV that reads it built again on it, and swapped in, in this transaction: "
                        + "readers wait only for the swap. The database it was imported from adopts it (marked ran).\n");
        f.append("--preconditions onFail:MARK_RAN onError:HALT\n");
        f.append("--precondition-sql-check expectedResult:create SELECT ops.opsmv_decision('").append(changeset).append("')\n");
        // to the imported version: the previous version's indexes it cannot hold are removed on purpose, not carried
        List<String> onlyPrevious = mv.previousIndexes().stream().map(Index::name)
                .filter(n -> newIndexes(mv).stream().noneMatch(i -> i.name().equals(n))).toList();
        f.append(swap(mv, mv.liveDefinition(), newIndexes(mv), onlyPrevious, ""));
        // back to the previous version: the indexes only the imported version has are its own, not carried back
        List<String> onlyNew = newIndexes(mv).stream().map(Index::name)
                .filter(n -> mv.previousIndexes().stream().noneMatch(p -> p.name().equals(n))).toList();
        f.append(swap(mv, mv.previousDefinition(), mv.previousIndexes(), onlyNew, "--rollback "));
        return f.toString();
    }

    /**
     * One direction of a version change: ops.opsmv_rebuild (release v1.6) builds the MV from {@code definition}
     * with {@code indexes} beside the serving one, and every view and MV that reads it again on it, then swaps
     * them in, carrying what is attached to each (ops.opsmv_carry_capture / _restore). {@code dropped}: indexes
     * of the serving MV that this direction removes on purpose (not carried).
     */
    private String swap(Mv mv, String definition, List<Index> indexes, List<String> dropped, String prefix) {
        StringBuilder json = new StringBuilder("[");
        for (Index i : indexes) {
            json.append(json.length() > 1 ? ", " : "").append("{\"name\": ").append(jsonString(i.name())).append(", \"unique\": ").append(i.unique())
                    .append(", \"key\": ").append(jsonString(i.key())).append('}');
        }
        json.append(']');
        String s = rebuild(mv.schema(), mv.name(), definition, json.toString(), dropped, prefix);
        if (mv.comment() != null && prefix.isEmpty()) {
            s += "COMMENT ON MATERIALIZED VIEW " + mv.schema() + "." + mv.name() + " IS " + lit(mv.comment()) + ";\n";
        }
        return s;
    }

    /** One call of ops.opsmv_rebuild, each line prefixed with {@code prefix} ("--rollback " for the rollback). */
    private String rebuild(String schema, String name, String definition, String indexesJson, List<String> dropped, String prefix) {
        List<String> lines = new ArrayList<>();
        lines.add("SET LOCAL lock_timeout = '${lock_timeout}';");
        lines.add("SELECT ops.opsmv_rebuild(" + lit(schema) + ", " + lit(name) + ", $def$");
        lines.addAll(List.of(schemaParameter(definition).split("\n")));
        lines.add("$def$, " + lit(indexesJson) + "::jsonb"
                + (dropped.isEmpty() ? "" : ", ARRAY[" + String.join(", ", dropped.stream().map(Import::lit).toList()) + "]::text[]") + ");");
        StringBuilder s = new StringBuilder();
        for (String line : lines) {
            s.append(prefix).append(line).append('\n');
        }
        return s.toString();
    }

    private static String jsonString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The source schema back to its changelog parameter, so the file deploys wherever ${source_schema} points. */
    private String schemaParameter(String definition) {
        return definition.replaceAll("(?<![\\w\"])" + Pattern.quote(sourceSchema) + "\\.", Matcher.quoteReplacement("${source_schema}."));
    }

    private int nextVersion(String folder, String name) throws IOException {
        int max = 0;
        Pattern p = Pattern.compile(Pattern.quote(name) + "_v(\\d+)\\.sql");
        try (var files = Files.list(changelogDir.resolve("ops").resolve(folder))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Matcher m = p.matcher(f.getFileName().toString());
                if (m.matches()) {
                    max = Math.max(max, Integer.parseInt(m.group(1)));
                }
            }
        }
        return max + 1;
    }

    private int existingCatalogues() throws IOException {
        try (var files = Files.list(changelogDir.resolve("ops").resolve("adoption"))) {
            return (int) files.filter(f -> f.getFileName().toString().startsWith("catalogue_")).count();
        }
    }

    /** The release after the changelog's last tag: v1.1 → v1.2. */
    private String nextRelease() throws Exception {
        List<String> tags = migrator.changelogTags();
        Matcher m = Pattern.compile("v(\\d+)\\.(\\d+)").matcher(tags.isEmpty() ? "v1.0" : tags.get(tags.size() - 1));
        if (!m.matches()) {
            throw new IllegalStateException("cannot name the next release after tag " + tags.get(tags.size() - 1) + ": name it with --release");
        }
        return "v" + m.group(1) + "." + (Integer.parseInt(m.group(2)) + 1);
    }

    private static String lit(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
