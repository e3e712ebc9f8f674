package dev.opsmv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.opsmv.db.ConnectionSpec;
import dev.opsmv.testing.Catalog;
import dev.opsmv.testing.Deployed;
import dev.opsmv.testing.JsonSchemas;
import dev.opsmv.testing.OpsmvProcess;
import dev.opsmv.testing.Releases;
import dev.opsmv.testing.Sql;

/**
 * Issue 12: {@code --format json} on status, update, update-sql, verify, refresh, check-duplicates,
 * rollback and tag: one document on stdout, valid against docs/schemas, the same exit code as text,
 * its fields agreeing with the database.
 */
class JsonOutputTest {

    /** Runs the command with --format json in-process and returns the validated document; its exit code is the process's. */
    private static JsonNode json(ConnectionSpec db, int expectedExit, String command, String... args) {
        List<String> argv = new ArrayList<>(List.of(command));
        argv.addAll(List.of(args));
        argv.add("--format");
        argv.add("json");
        OpsmvProcess.Result r = db == null ? Runner.inProcess(argv.toArray(String[]::new)) : Runner.inProcessOn(db, argv.toArray(String[]::new));
        assertEquals(expectedExit, r.exitCode(), r.toString());
        JsonNode doc = JsonSchemas.document(command, r.stdout());
        assertEquals(expectedExit, doc.get("exit_code").asInt(), r.toString());
        assertEquals(expectedExit == 0, doc.get("ok").asBoolean());
        return doc;
    }

    @Test
    void deploymentCommandsSpeakJson() throws Exception {
        ConnectionSpec db = Deployed.fixtureDatabase(400, Deployed.SHARED_SEED, 0);
        long changesets = Sql.count(Deployed.bundleDatabase(50, Deployed.SHARED_SEED), "SELECT count(*) FROM databasechangelog");

        JsonNode sql = json(db, 0, "update-sql");
        assertEquals(changesets, sql.get("pending").size());
        assertTrue(sql.get("sql").asText().contains("CREATE MATERIALIZED VIEW"), "the script is the document's sql");
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"), "update-sql changes nothing");

        JsonNode before = json(db, 0, "status");
        assertEquals(changesets, before.get("pending").size());
        assertEquals(0, before.get("applied").asLong());
        assertFalse(before.get("lock").get("held").asBoolean());

        JsonNode update = json(db, 0, "update");
        assertEquals(changesets, update.get("applied").asLong());
        assertEquals(Releases.LAST, update.get("last_tag").asText());
        assertEquals(0, update.get("pre_flight").get("total").asLong());
        assertEquals(changesets, Sql.count(db, "SELECT count(*) FROM databasechangelog"));

        JsonNode after = json(db, 0, "status");
        assertEquals(0, after.get("pending").size());
        assertEquals(changesets, after.get("applied").asLong());

        // the last seven changesets are v1.7's column, function and tag, v1.6's function and tag, v1.5's tag (v1.5's own changesets run where they are
        // needed, before v1.1's rebuild and before the adoption gate; its file holds the tag alone) and v1.4's tag:
        // undo them so that there is an untagged state to tag
        JsonNode one = json(db, 0, "rollback", "--count", "7");
        assertEquals(7, one.get("rolled_back").asLong());
        assertEquals(changesets - 7, one.get("applied").asLong());
        JsonNode tag = json(db, 0, "tag", "before-json-test");
        assertEquals("before-json-test", tag.get("tag").asText());
        assertEquals("before-json-test", Sql.value(db, "SELECT tag FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1"));

        List<String> history = Catalog.history(db);
        JsonNode rollback = json(db, 0, "rollback", "--tag", "v1.1");
        assertEquals(history.size() - Catalog.history(db).size(), rollback.get("rolled_back").asLong());
        assertEquals("v1.1", rollback.get("last_tag").asText());
        assertEquals(Catalog.history(db).size(), rollback.get("applied").asLong());

        // refresh needs release v1.3's protocol functions: forward again (rollback then update, in JSON both ways)
        JsonNode forward = json(db, 0, "update");
        assertEquals(Releases.LAST, forward.get("last_tag").asText());

        JsonNode refresh = json(db, 0, "refresh", "--all");
        long mvs = Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_policy WHERE refresh_enabled");
        assertEquals(mvs, refresh.get("outcomes").size());
        for (JsonNode o : refresh.get("outcomes")) {
            assertEquals("OK", o.get("status").asText(), o.toString());
        }
        assertEquals(mvs, Sql.count(db, "SELECT count(*) FROM ops.mv_refresh_log WHERE run_id = '" + refresh.get("run_id").asText() + "' AND status = 'OK'"));
        JsonNode dry = json(db, 0, "refresh", "--all", "--dry-run");
        assertEquals(mvs, dry.get("plan").size());

        JsonNode verify = json(db, expectedVerifyExit(db), "verify");
        long failed = 0;
        for (JsonNode i : verify.get("items")) {
            failed += i.get("ok").asBoolean() ? 0 : 1;
        }
        assertEquals(failed, verify.get("failed").asLong());

        JsonNode dups = json(db, 0, "check-duplicates");
        assertEquals(0, dups.get("total").asLong());
    }

    /** verify's own exit code in text (the JSON run must agree with it). */
    private static int expectedVerifyExit(ConnectionSpec db) {
        return Runner.inProcessOn(db, "verify").exitCode();
    }

    @Test
    void duplicatesAndFailuresKeepTheirExitCodesAndGiveADocument() {
        ConnectionSpec db = Deployed.fixtureDatabase(300, 9, 3);
        JsonNode dups = json(db, ExitCode.PROBLEM, "check-duplicates");
        assertEquals(3, dups.get("total").asLong());
        assertEquals(3, dups.get("duplicates").size());
        List<String> listed = new ArrayList<>();
        dups.get("duplicates").forEach(g -> listed.add(g.get("driver_id").asLong() + "/" + g.get("milestone_value").asLong()));
        assertEquals(Sql.strings(db, """
                SELECT driver_id || '/' || milestone_value FROM public.claims_cabinet
                GROUP BY driver_id, milestone_value HAVING count(*) > 1 ORDER BY 1"""), listed.stream().sorted().toList(),
                "the grains the document lists are the table's");

        JsonNode stopped = json(db, ExitCode.PROBLEM, "update");
        assertTrue(stopped.get("error").asText().contains("update stopped before any change"), stopped.toString());
        assertEquals(3, stopped.get("pre_flight").get("total").asLong());
        assertEquals(0, Sql.count(db, "SELECT count(*) FROM pg_matviews WHERE schemaname = 'ops'"));

        ConnectionSpec nowhere = ConnectionSpec.of("127.0.0.1", dev.opsmv.testing.Cli.deadPort(), "nope", "postgres", null);
        JsonNode unreachable = json(nowhere, ExitCode.DATABASE, "status");
        assertTrue(unreachable.get("error").asText().length() > 0);
        assertFalse(unreachable.has("pending"));

        // a bad value of an option read before the command runs: exit 2 as in text
        OpsmvProcess.Result bad = Runner.inProcess("status", "--format", "xml");
        assertEquals(ExitCode.USAGE, bad.exitCode(), bad.toString());
        assertTrue(bad.stderr().contains("not one of text, json"), bad.toString());
    }
}
