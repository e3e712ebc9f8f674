package dev.opsmv.db;

/** A connection setting that cannot be used as given; the message names it (without secrets). */
public class BadConnectionUrl extends IllegalArgumentException {
    public BadConnectionUrl(String message) {
        super(message);
    }
}
