#!/usr/bin/env node
// Lints the SQL of every changeset of a Liquibase changelog with squawk, the way the PostgreSQL
// community lints migrations, with the transaction setting that matches each changeset.
//
//   node .ci/lint/lint-changelog.mjs                      # the master changelog (what CI runs)
//   node .ci/lint/lint-changelog.mjs --changelog other.yaml   # another YAML changelog and its includes
//   node .ci/lint/lint-changelog.mjs path/to/file.sql ... # formatted-SQL files given directly
//
// Why a script and not `squawk changelog/**/*.sql`:
//  - a formatted-SQL file holds several changesets; each runs in its own transaction, or in none
//    (runInTransaction:false), so each changeset is linted on its own, with --assume-in-transaction
//    only where Liquibase really wraps it in a transaction;
//  - `--rollback` lines are comments to squawk: they are extracted and linted as their own
//    migration (a rollback runs in a transaction exactly when its changeset does);
//  - ${lock_timeout}/${source_schema} placeholders are not SQL: the defaults declared in the master
//    changelog are substituted into the copy that is linted (under target/lint/).
// Exceptions for released changesets (which cannot be edited: their checksums are fixed) live in
// .ci/lint/exceptions.yaml, each with a reason; rules switched off everywhere live in .ci/lint/squawk.toml.
//
// Exit codes: 0 clean; 1 squawk found problems; 2 usage or changelog error (message on stderr).

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const squawk = path.join(here, 'node_modules', '.bin', process.platform === 'win32' ? 'squawk.cmd' : 'squawk');
const config = path.join(here, 'squawk.toml');
const master = path.join(root, 'changelog', 'db.changelog-master.yaml');
// OPSMV_LINT_WORK_DIR: where the linted copies go (tests use their own, so they never race the build's lint).
const workDir = process.env.OPSMV_LINT_WORK_DIR ? path.resolve(process.env.OPSMV_LINT_WORK_DIR) : path.join(root, 'target', 'lint');

class LintUsage extends Error {}

function main(argv) {
    if (!fs.existsSync(squawk)) {
        throw new LintUsage(`squawk is not installed in ${path.relative(root, here)}/node_modules: run \`npm ci --prefix .ci/lint\` (the Maven build does it)`);
    }
    let changelog = master;
    if (argv[0] === '--changelog') {
        if (!argv[1]) {
            throw new LintUsage('--changelog needs a YAML changelog file');
        }
        changelog = path.resolve(argv[1]);
        argv = argv.slice(2);
        if (argv.length > 0) {
            throw new LintUsage('give either --changelog FILE or formatted-SQL files, not both');
        }
        if (!fs.existsSync(changelog)) {
            throw new LintUsage(`${changelog}: no such file`);
        }
    }
    const params = { ...changelogParameters(master), ...changelogParameters(changelog) };
    const wholeChangelog = argv.length === 0;
    const files = wholeChangelog ? sqlFilesOf(changelog, new Set()) : argv.map(f => path.resolve(f));
    const exceptions = loadExceptions(path.join(here, 'exceptions.yaml'));

    if (!process.env.OPSMV_LINT_WORK_DIR) {
        fs.rmSync(workDir, { recursive: true, force: true }); // only our own default directory is ever wiped
    }
    const inTx = [];
    const noTx = [];
    let changesets = 0;
    const used = new Set();
    for (const file of files) {
        if (!fs.existsSync(file)) {
            throw new LintUsage(`${file}: no such file`);
        }
        const rel = path.relative(root, file).split(path.sep).join('/');
        const parsed = parseFormattedSql(fs.readFileSync(file, 'utf8'), rel);
        for (const cs of parsed) {
            changesets++;
            for (const part of ['forward', 'rollback']) {
                const sql = part === 'forward' ? cs.body : cs.rollback;
                if (!sql.trim()) {
                    continue;
                }
                const ignored = exceptions.filter(e => e.file === rel && e.changeset === cs.id && e.part === part);
                ignored.forEach(e => used.add(e));
                const header = [
                    `-- ${rel} changeset ${cs.author}:${cs.id} (${part}${cs.inTransaction ? '' : ', runInTransaction:false'})`,
                    ...ignored.map(e => `-- squawk-ignore-file ${e.rule}\n--   reason: ${e.reason}`),
                ].join('\n');
                const out = path.join(workDir, rel.replace(/\.sql$/, ''), `${safe(cs.id)}.${part}.sql`);
                fs.mkdirSync(path.dirname(out), { recursive: true });
                fs.writeFileSync(out, `${header}\n${substitute(sql, params, rel, cs.id)}\n`);
                (cs.inTransaction ? inTx : noTx).push(out);
            }
        }
    }
    if (wholeChangelog) {
        // A stale exception would silently cover a future statement: every one must still match.
        const stale = exceptions.filter(e => !used.has(e));
        if (stale.length > 0) {
            throw new LintUsage(`.ci/lint/exceptions.yaml: no changeset matches ${stale.map(e => `${e.file} ${e.changeset} ${e.part} ${e.rule}`).join('; ')}: remove or fix the entry`);
        }
    }

    let failed = false;
    for (const [group, flag] of [[inTx, '--assume-in-transaction'], [noTx, '--no-assume-in-transaction']]) {
        if (group.length === 0) {
            continue;
        }
        const r = spawnSync(squawk, ['--config', config, '--reporter', 'gcc', flag, ...group.map(f => path.relative(root, f))],
            { cwd: root, encoding: 'utf8' });
        if (r.error) {
            throw new LintUsage(`cannot run squawk: ${r.error.message}`);
        }
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        if (r.status !== 0) {
            failed = true;
        }
    }
    const summary = `squawk ${version()}: ${changesets} changesets in ${files.length} files (${inTx.length} transactional and ${noTx.length} non-transactional parts, rollbacks included)`;
    console.log(failed ? `lint FAILED: ${summary}` : `lint OK: ${summary}`);
    return failed ? 1 : 0;
}

/** The formatted-SQL files a changelog includes, in order, following YAML includes. */
function sqlFilesOf(changelog, seen) {
    if (seen.has(changelog)) {
        return [];
    }
    seen.add(changelog);
    if (changelog.endsWith('.sql')) {
        return [changelog];
    }
    const doc = YAML.parse(fs.readFileSync(changelog, 'utf8'));
    const out = [];
    for (const entry of doc.databaseChangeLog ?? []) {
        if (entry.includeAll) {
            throw new LintUsage(`${changelog}: includeAll is not supported by the lint; include files one by one`);
        }
        if (entry.include) {
            const base = entry.include.relativeToChangelogFile ? path.dirname(changelog) : root;
            out.push(...sqlFilesOf(path.resolve(base, entry.include.file), seen));
        }
    }
    return out;
}

/** Changelog parameters declared in the master (name → default value). */
function changelogParameters(file) {
    if (file.endsWith('.sql')) {
        return {};
    }
    const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
    const params = {};
    for (const entry of doc.databaseChangeLog ?? []) {
        if (entry.property) {
            params[entry.property.name] = String(entry.property.value);
        }
    }
    return params;
}

/** Splits a Liquibase formatted-SQL file into changesets: id, author, transaction mode, body, rollback. */
function parseFormattedSql(text, rel) {
    const lines = text.split(/\r?\n/);
    if (!/^--\s*liquibase formatted sql/i.test(lines[0] ?? '')) {
        throw new LintUsage(`${rel}: not a Liquibase formatted-SQL file (first line must be "--liquibase formatted sql")`);
    }
    const changesets = [];
    let cs = null;
    let inRollbackBlock = false;
    for (const line of lines.slice(1)) {
        const start = line.match(/^--\s*changeset\s+(\S+?):(\S+)(.*)$/i);
        if (start) {
            const attrs = {};
            for (const m of start[3].matchAll(/(\w+):("[^"]*"|\S+)/g)) {
                attrs[m[1]] = m[2].replace(/^"|"$/g, '');
            }
            cs = {
                author: start[1],
                id: start[2],
                inTransaction: String(attrs.runInTransaction ?? 'true').toLowerCase() !== 'false',
                body: [],
                rollback: [],
            };
            changesets.push(cs);
            continue;
        }
        if (!cs) {
            continue;
        }
        if (inRollbackBlock) {
            if (/^\s*\*\/\s*$/.test(line)) {
                inRollbackBlock = false;
            } else {
                cs.rollback.push(line);
            }
            continue;
        }
        if (/^\/\*\s*liquibase\s+rollback\s*$/i.test(line)) {
            inRollbackBlock = true;
            continue;
        }
        const rollback = line.match(/^--\s*rollback\s?(.*)$/i);
        if (rollback) {
            // "--rollback changesetId:… changesetAuthor:…" re-runs another changeset: that one is linted where it is defined.
            if (!/^\s*(empty\s*$|changesetid:)/i.test(rollback[1])) {
                cs.rollback.push(rollback[1]);
            }
            continue;
        }
        // Other Liquibase directives (--comment, --preconditions, --precondition-sql-check, …) stay
        // as comments: squawk ignores comments.
        cs.body.push(line);
    }
    if (changesets.length === 0) {
        throw new LintUsage(`${rel}: no --changeset line`);
    }
    return changesets.map(c => ({ ...c, body: c.body.join('\n'), rollback: c.rollback.join('\n') }));
}

// Liquibase's own parameters (ChangeLogParameters), as it sets them for a PostgreSQL default install.
const LIQUIBASE_PARAMETERS = {
    'database.liquibaseSchemaName': 'public',
    'database.databaseChangeLogTableName': 'databasechangelog',
    'database.databaseChangeLogLockTableName': 'databasechangeloglock',
};

function substitute(sql, params, rel, id) {
    return sql.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (whole, name) => {
        if (name in LIQUIBASE_PARAMETERS) {
            return LIQUIBASE_PARAMETERS[name];
        }
        if (!(name in params)) {
            throw new LintUsage(`${rel} ${id}: \${${name}} is not a parameter of the master changelog`);
        }
        return params[name];
    });
}

function loadExceptions(file) {
    if (!fs.existsSync(file)) {
        return [];
    }
    const doc = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
    const list = doc.exceptions ?? [];
    for (const e of list) {
        for (const key of ['file', 'changeset', 'part', 'rule', 'reason']) {
            if (!e[key] || !String(e[key]).trim()) {
                throw new LintUsage(`.ci/lint/exceptions.yaml: entry ${JSON.stringify(e)} lacks "${key}" (every exception needs a one-line reason)`);
            }
        }
        if (!['forward', 'rollback'].includes(e.part)) {
            throw new LintUsage(`.ci/lint/exceptions.yaml: part must be forward or rollback in ${JSON.stringify(e)}`);
        }
    }
    return list;
}

function safe(id) {
    return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function version() {
    try {
        return execFileSync(squawk, ['--version'], { encoding: 'utf8' }).trim().replace(/^squawk\s*/, '');
    } catch {
        return '?';
    }
}

try {
    process.exitCode = main(process.argv.slice(2));
} catch (e) {
    if (e instanceof LintUsage) {
        console.error(`lint: ${e.message}`);
        process.exitCode = 2;
    } else {
        throw e;
    }
}
