package dev.opsmv.api;

import java.sql.SQLException;

/**
 * The driver-matrix MV lacks a column the request reads (a definition imported narrower than the bundle's):
 * 400 naming the parameter when the request asked for it (a filter), else 500; one line either way.
 */
public final class MissingColumn extends SQLException {
    private final String parameter;

    MissingColumn(String message, String parameter, SQLException cause) {
        super(message, "42703", cause);
        this.parameter = parameter;
    }

    /** The request parameter that needs the missing column, or null when every request needs it. */
    public String parameter() {
        return parameter;
    }
}
