package dev.opsmv.migrate;

import java.util.LinkedHashMap;
import java.util.Map;

import liquibase.changelog.ChangeSet;
import liquibase.changelog.DatabaseChangeLog;
import liquibase.precondition.Precondition;
import liquibase.precondition.PreconditionLogic;
import liquibase.precondition.core.PreconditionContainer;
import liquibase.precondition.core.SqlPrecondition;

/**
 * Puts the changelog's SQL preconditions into update-sql output. Liquibase evaluates them while it
 * generates the script (onSqlOutput:TEST), but a reviewed script is often applied later: a guard
 * (a DO block that raises the changeset's onFailMessage) before each guarded changeset makes psql
 * with ON_ERROR_STOP halt there, as the update would, instead of building an INVALID index.
 */
final class SqlGuards {
    private SqlGuards() {
    }

    /** "-- Changeset path::id::author" → the guard to insert before that line. */
    static Map<String, String> guards(DatabaseChangeLog changeLog) {
        Map<String, String> out = new LinkedHashMap<>();
        for (ChangeSet cs : changeLog.getChangeSets()) {
            PreconditionContainer pc = cs.getPreconditions();
            if (pc == null) {
                continue;
            }
            StringBuilder guard = new StringBuilder();
            if (pc.getOnFail() == PreconditionContainer.FailOption.HALT) {
                collect(pc, pc.getOnFailMessage(), cs, guard);
            } else if (pc.getOnError() == PreconditionContainer.ErrorOption.HALT && !cs.isRunInTransaction()) {
                // a check that stops by raising (the duplicate-grain function): run it again where it
                // guards a concurrent index build, so a stale script stops before an INVALID index
                raising(pc, cs, guard);
            }
            if (guard.length() > 0) {
                out.put("-- Changeset " + cs.getFilePath() + "::" + cs.getId() + "::" + cs.getAuthor(), guard.toString());
            }
        }
        return out;
    }

    private static void collect(Precondition p, String message, ChangeSet cs, StringBuilder guard) {
        if (p instanceof SqlPrecondition sql) {
            String sqlText = sql.getSql().trim().replaceAll(";\\s*$", "");
            String msg = message == null || message.isBlank()
                    ? "precondition of " + cs.getId() + " failed: " + sqlText + " did not return " + sql.getExpectedResult() : message;
            guard.append("-- opsmv: precondition of ").append(cs.getId()).append(", checked again when this script runs\n")
                    .append("DO $opsmv_guard$\nBEGIN\n    IF ((").append(sqlText).append("))::text IS DISTINCT FROM ")
                    .append(literal(sql.getExpectedResult())).append(" THEN\n        RAISE EXCEPTION '%', ")
                    .append(literal(msg)).append(";\n    END IF;\nEND\n$opsmv_guard$;\n\n");
        } else if (p instanceof PreconditionLogic logic && !(p instanceof liquibase.precondition.core.OrPrecondition)
                && !(p instanceof liquibase.precondition.core.NotPrecondition)) {
            for (Precondition nested : logic.getNestedPreconditions()) {
                collect(nested, message, cs, guard);
            }
        }
    }

    private static void raising(Precondition p, ChangeSet cs, StringBuilder guard) {
        if (p instanceof SqlPrecondition sql) {
            String sqlText = sql.getSql().trim().replaceAll(";\\s*$", "");
            guard.append("-- opsmv: precondition of ").append(cs.getId()).append(", checked again when this script runs\n")
                    .append("DO $opsmv_guard$\nBEGIN\n    PERFORM (").append(sqlText).append(");\nEND\n$opsmv_guard$;\n\n");
        } else if (p instanceof PreconditionLogic logic) {
            for (Precondition nested : logic.getNestedPreconditions()) {
                raising(nested, cs, guard);
            }
        }
    }

    static String insert(String script, Map<String, String> guards) {
        String out = script;
        for (Map.Entry<String, String> g : guards.entrySet()) {
            int at = out.indexOf(g.getKey() + "\n");
            if (at >= 0) {
                out = out.substring(0, at) + g.getValue() + out.substring(at);
            }
        }
        return out;
    }

    private static String literal(String s) {
        return "'" + (s == null ? "" : s.replace("'", "''")) + "'";
    }
}
