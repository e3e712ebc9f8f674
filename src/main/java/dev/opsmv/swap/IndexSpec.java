package dev.opsmv.swap;

/**
 * An index of a rebuilt MV: its final name, what follows {@code ON <table>} ("USING btree (a, b)",
 * "USING btree (a) WHERE …"), and its tablespace (null: the database's default).
 */
public record IndexSpec(String name, boolean unique, String keySql, String tablespace) {
    public IndexSpec(String name, boolean unique, String keySql) {
        this(name, unique, keySql, null);
    }
}
