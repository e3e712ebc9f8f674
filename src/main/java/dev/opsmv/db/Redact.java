package dev.opsmv.db;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes credentials from text that may reach a terminal or a log. Besides the URL shapes it
 * knows, it replaces every password the process has seen ({@link #remember}): a password typed
 * with an unencoded '@' or '/' breaks URL patterns, but never a literal replacement.
 */
public final class Redact {
    /** scheme://userinfo@ — the userinfo ends at the LAST '@' of the token, so a stray '@' or '/' in a password is still covered. */
    private static final Pattern URL_TOKEN = Pattern.compile("://(\\S*)");
    private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password=)[^&\\s;]*");
    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();

    private Redact() {
    }

    /** Registers a secret so that {@link #url} and {@link #text} replace it wherever it appears. */
    public static void remember(String secret) {
        // Very short strings would mangle unrelated text; libpq passwords that short are not worth protecting this way.
        if (secret != null && secret.length() >= 3) {
            SECRETS.add(secret);
        }
    }

    /** Remembers the password of any URL inside {@code text} (before it is parsed, so a parse error cannot echo it). */
    public static void rememberSecretsIn(String text) {
        if (text == null) {
            return;
        }
        Matcher m = URL_TOKEN.matcher(text);
        while (m.find()) {
            String token = m.group(1);
            int at = token.lastIndexOf('@');
            if (at > 0) {
                String info = token.substring(0, at);
                int colon = info.indexOf(':');
                if (colon >= 0) {
                    String raw = info.substring(colon + 1);
                    remember(raw);
                    try {
                        remember(java.net.URLDecoder.decode(raw.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8));
                    } catch (IllegalArgumentException ignored) {
                        // not valid percent-encoding: the raw form is already remembered
                    }
                }
            }
        }
        Matcher p = PASSWORD_PARAM.matcher(text);
        while (p.find()) {
            remember(p.group().substring("password=".length()));
        }
    }

    public static String url(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        Matcher m = URL_TOKEN.matcher(text);
        while (m.find()) {
            String token = m.group(1);
            int at = token.lastIndexOf('@');
            String replacement = token;
            if (at > 0) {
                String info = token.substring(0, at);
                int colon = info.indexOf(':');
                if (colon >= 0) {
                    replacement = info.substring(0, colon) + ":***" + token.substring(at);
                }
            }
            m.appendReplacement(sb, Matcher.quoteReplacement("://" + replacement));
        }
        m.appendTail(sb);
        String out = PASSWORD_PARAM.matcher(sb.toString()).replaceAll("$1***");
        for (String secret : SECRETS) {
            out = outsideUserNames(out, secret);
        }
        return out;
    }

    /**
     * Where a user name stands: before '@' (or ':***@') at the start of a word or after "//", after
     * {@code user=}, and quoted after "user" or "role" (PostgreSQL's and the runner's messages). A user
     * name is not a secret; a password that happens to equal it must not mask it.
     */
    private static final Pattern USER_NAME = Pattern.compile(
            "(?<=^|[\\s/'\"(,=])[^\\s:@/'\"(,=]+(?=(?::\\*\\*\\*)?@)"
                    + "|(?i)(?<=\\buser=)[^&\\s;'\"]+"
                    + "|(?i)(?<=\\b(?:user|role) [\"'])[^\"']+(?=[\"'])");

    /** {@code text} with every occurrence of {@code secret} replaced by ***, except inside a user name. */
    private static String outsideUserNames(String text, String secret) {
        if (!text.contains(secret)) {
            return text;
        }
        StringBuilder out = new StringBuilder();
        Matcher user = USER_NAME.matcher(text);
        int from = 0;
        while (user.find()) {
            out.append(text.substring(from, user.start()).replace(secret, "***")).append(user.group());
            from = user.end();
        }
        return out.append(text.substring(from).replace(secret, "***")).toString();
    }

    /** Redacts URLs, remembered secrets and, when known, the literal password wherever it appears. */
    public static String text(String text, String secret) {
        String out = url(text);
        if (out != null && secret != null && !secret.isEmpty()) {
            out = outsideUserNames(out, secret);
        }
        return out;
    }
}
