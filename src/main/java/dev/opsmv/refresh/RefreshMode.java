package dev.opsmv.refresh;

/** What {@code refresh --method} asks for ({@code --concurrently auto|always|never} is its older spelling). */
public enum RefreshMode {
    /**
     * Per MV, from the catalog: SWAP where it is safe (nothing reads the MV, the runner owns it) and the
     * MV is populated; otherwise CONCURRENTLY where PostgreSQL allows it; otherwise PLAIN with the reason
     * logged. The rule and the figures behind it: {@link RefreshMethod#decide}.
     */
    AUTO,
    /** CONCURRENTLY or nothing: an MV that cannot be refreshed concurrently is an ERROR, never a blocking refresh. */
    CONCURRENTLY,
    /** PLAIN for every MV (e.g. an initial load, when no one reads yet). */
    PLAIN,
    /** SWAP or nothing: an MV with dependents (or not owned by the runner) is an ERROR, nothing is built. */
    SWAP;

    /** The older option: auto → AUTO, always → CONCURRENTLY, never → PLAIN; null for anything else. */
    public static RefreshMode fromConcurrently(String value) {
        return switch (value) {
            case "auto" -> AUTO;
            case "always" -> CONCURRENTLY;
            case "never" -> PLAIN;
            default -> null;
        };
    }
}
