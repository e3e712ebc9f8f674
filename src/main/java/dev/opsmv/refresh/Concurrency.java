package dev.opsmv.refresh;

/** What --concurrently asks for. */
public enum Concurrency {
    /** CONCURRENTLY where PostgreSQL allows it, PLAIN (with the reason logged) where it cannot. */
    AUTO,
    /** CONCURRENTLY or nothing: an MV that cannot be refreshed concurrently is an ERROR, never a blocking refresh. */
    ALWAYS,
    /** PLAIN for every MV (e.g. an initial load, when no one reads yet). */
    NEVER
}
