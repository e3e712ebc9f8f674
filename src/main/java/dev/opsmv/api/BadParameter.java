package dev.opsmv.api;

/** A request parameter is wrong: answered with HTTP 400 and {"error": message, "parameter": name}. */
public final class BadParameter extends IllegalArgumentException {
    private final String parameter;

    public BadParameter(String parameter, String message) {
        super(message);
        this.parameter = parameter;
    }

    public String parameter() {
        return parameter;
    }
}
