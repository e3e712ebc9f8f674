package dev.opsmv.db;

import java.util.regex.Pattern;

/** Removes credentials from text that may reach a terminal or a log. */
public final class Redact {
    private static final Pattern USERINFO_PASSWORD = Pattern.compile("(://[^/:@\\s]*):[^@\\s/]*@");
    private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password=)[^&\\s;]*");

    private Redact() {
    }

    public static String url(String text) {
        if (text == null) {
            return null;
        }
        String out = USERINFO_PASSWORD.matcher(text).replaceAll("$1:***@");
        return PASSWORD_PARAM.matcher(out).replaceAll("$1***");
    }

    /** Redacts URLs and, when known, the literal password wherever it appears. */
    public static String text(String text, String secret) {
        String out = url(text);
        if (out != null && secret != null && !secret.isEmpty()) {
            out = out.replace(secret, "***");
        }
        return out;
    }
}
