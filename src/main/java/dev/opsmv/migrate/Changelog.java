package dev.opsmv.migrate;

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
    /** Default for the lock_timeout changelog parameter. */
    public static final String DEFAULT_LOCK_TIMEOUT = "5s";

    private Changelog() {
    }
}
