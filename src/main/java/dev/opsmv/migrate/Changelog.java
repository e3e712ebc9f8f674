package dev.opsmv.migrate;

import java.time.Duration;

import dev.opsmv.db.Durations;

/** Where the bundle's changelogs live, as paths relative to the repository root and the jar root. */
public final class Changelog {
    /** The master changelog: the production bundle. */
    public static final String MASTER = "changelog/db.changelog-master.yaml";
    /** Stand-ins for the production source tables (tests and demo only). */
    public static final String FIXTURE = "changelog/fixture/source-fixture.changelog.yaml";
    /** The fixture keeps its own history so it never mixes with the bundle's DATABASECHANGELOG. */
    public static final String FIXTURE_HISTORY_TABLE = "opsmv_fixture_changelog";
    public static final String FIXTURE_LOCK_TABLE = "opsmv_fixture_changeloglock";
    /** Optional, not in the master: the least-privilege refresher role and its SECURITY DEFINER function. */
    public static final String REFRESHER_ROLE = "changelog/optional/refresher-role.yaml";
    /** The optional read-only role of `serve` and `health` (changelog/optional/reader-role.yaml). */
    public static final String READER_ROLE = "changelog/optional/reader-role.yaml";
    /** Default for the lock_timeout changelog parameter (and update's --lock-timeout), in PostgreSQL's form. */
    public static final String DEFAULT_LOCK_TIMEOUT = "5s";
    /** {@link #DEFAULT_LOCK_TIMEOUT} as the runner's one timeout type. */
    public static final Duration DEFAULT_LOCK_TIMEOUT_DURATION = Durations.parse(DEFAULT_LOCK_TIMEOUT);

    /** The changesets of ops.opsmv_carry_capture / _restore (release v1.5), which every rebuilding changeset calls. */
    public static final String CARRY_CHANGESETS = "v1.5-opsmv-carr";
    /** ops.opsmv_rebuild (release v1.6), which the releases `opsmv import` writes call. */
    public static final String REBUILD_CHANGESET = "v1.6-opsmv-rebuild-function";

    /** Default for the source_schema changelog parameter: where the production source tables live. */
    public static final String DEFAULT_SOURCE_SCHEMA = "public";
    /** The changeset that builds the unique grain index behind the duplicate-claims precondition. */
    public static final String GRAIN_CHANGESET_ID = "v1.0-ux_mv_yango_cabinet_claims_for_collection_grain";

    private static final java.util.regex.Pattern IDENTIFIER = java.util.regex.Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    /** The source schema reaches DDL text: only a plain lower-case identifier gets through. */
    public static String checkSourceSchema(String value) {
        if (value == null || !IDENTIFIER.matcher(value).matches()) {
            throw new IllegalArgumentException("--source-schema must be a plain lower-case schema name such as public or erp (got '" + value + "')");
        }
        return value;
    }


    private Changelog() {
    }
}
