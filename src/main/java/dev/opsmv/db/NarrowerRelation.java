package dev.opsmv.db;

/**
 * A relation of the bundle lacks columns the product reads (a definition imported narrower than the bundle's):
 * one line naming it and them ({@link Relations#missingColumnsLine}); a command ends with exit 1, a problem found.
 */
public final class NarrowerRelation extends IllegalStateException {
    public NarrowerRelation(String message) {
        super(message);
    }
}
