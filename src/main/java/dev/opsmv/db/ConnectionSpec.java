package dev.opsmv.db;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Where to connect and as whom. The password is kept apart from the URL so that the URL can be
 * printed and logged as it is; it only ever reaches the JDBC driver's connection properties.
 */
public final class ConnectionSpec {
    private final String host;
    private final int port;
    private final String database;
    private final String user;
    private final String password;
    private final Map<String, String> params;

    ConnectionSpec(String host, int port, String database, String user, String password, Map<String, String> params) {
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.params = Map.copyOf(params);
    }

    public static ConnectionSpec of(String host, int port, String database, String user, String password) {
        return new ConnectionSpec(host, port, database, user, password, Map.of());
    }

    /**
     * Resolves the connection the way libpq does: an explicit URL (JDBC or postgres:// URI) first,
     * then DATABASE_URL, then PGHOST/PGPORT/PGDATABASE/PGUSER; the password from the URL, then
     * PGPASSWORD, then the password file (PGPASSFILE or ~/.pgpass).
     */
    public static ConnectionSpec resolve(String url, Map<String, String> env, Path home) {
        boolean fromOption = url != null && !url.isBlank();
        String given = fromOption ? url : env.get("DATABASE_URL");
        ConnectionSpec parsed;
        if (given != null && !given.isBlank()) {
            // Remember any password in the text before parsing can fail, so that no message can echo it.
            Redact.rememberSecretsIn(given);
            try {
                parsed = parse(given.trim());
            } catch (BadConnectionUrl e) {
                throw new BadConnectionUrl((fromOption ? "--url: " : "DATABASE_URL: ") + e.getMessage());
            }
        } else {
            parsed = new ConnectionSpec(null, 0, null, null, null, Map.of());
        }
        String host = firstNonBlank(parsed.host, env.get("PGHOST"), "localhost");
        int port = parsed.port > 0 ? parsed.port : parsePort(firstNonBlank(env.get("PGPORT"), "5432"), "PGPORT");
        String user = firstNonBlank(parsed.user, env.get("PGUSER"), System.getProperty("user.name"));
        String database = firstNonBlank(parsed.database, env.get("PGDATABASE"), user);
        String password = firstNonBlank(parsed.password, env.get("PGPASSWORD"), null);
        if (password == null) {
            Path passFile = env.get("PGPASSFILE") != null ? Path.of(env.get("PGPASSFILE"))
                    : home == null ? null : home.resolve(".pgpass");
            password = PgPass.lookup(passFile, host, port, database, user);
        }
        Redact.remember(password);
        Map<String, String> params = new LinkedHashMap<>(parsed.params);
        if (!params.containsKey("sslmode") && env.get("PGSSLMODE") != null) {
            params.put("sslmode", env.get("PGSSLMODE"));
        }
        return new ConnectionSpec(host, port, database, user, password, params);
    }

    /** Parses a JDBC URL or a libpq URI; throws {@link BadConnectionUrl} naming what is wrong. */
    static ConnectionSpec parse(String url) {
        String rest;
        if (url.startsWith("jdbc:postgresql://")) {
            rest = url.substring("jdbc:postgresql://".length());
        } else if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
            rest = url.substring(url.indexOf("://") + 3);
        } else {
            throw new BadConnectionUrl("connection URL must start with postgres://, postgresql:// or jdbc:postgresql:// (got "
                    + Redact.url(url) + ")");
        }
        URI uri;
        try {
            uri = new URI("postgres://" + rest);
        } catch (URISyntaxException e) {
            throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": " + e.getReason()
                    + " (special characters in the user or password must be percent-encoded)");
        }
        String user = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            String info = uri.getRawUserInfo();
            int colon = info.indexOf(':');
            user = decode(colon < 0 ? info : info.substring(0, colon));
            password = colon < 0 ? null : decode(info.substring(colon + 1));
        }
        if (uri.getHost() == null && uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()
                && !uri.getRawAuthority().endsWith("@")) {
            throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": cannot read the host");
        }
        if (uri.getHost() == null && uri.getRawAuthority() != null && uri.getRawAuthority().contains(",")) {
            throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": several hosts are not supported; give one host");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
            throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": port must be between 1 and 65535");
        }
        String path = uri.getRawPath();
        String database = path == null || path.length() <= 1 ? null : decode(path.substring(1));
        Map<String, String> params = new LinkedHashMap<>();
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode(eq < 0 ? pair : pair.substring(0, eq));
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
                switch (key) {
                    case "user" -> user = value;
                    case "password" -> password = value;
                    case "dbname" -> database = value;
                    // libpq spellings of the few parameters whose JDBC names differ
                    case "connect_timeout" -> params.put("connectTimeout", value);
                    case "host", "hostaddr", "port" -> throw new BadConnectionUrl("malformed connection URL " + Redact.url(url)
                            + ": give the " + key + " in the authority part (postgres://user@host:port/db), not as ?" + key + "=");
                    default -> params.put(key, value);
                }
            }
        }
        return new ConnectionSpec(uri.getHost(), Math.max(uri.getPort(), 0), database, user, password, params);
    }

    public Connection open() throws SQLException {
        return open("opsmv");
    }

    /**
     * Every connection of the runner is opened here, so a failure reads the same whichever command
     * or engine asked for it: {@link ConnectError}'s one line, in a {@link ConnectFailure}.
     */
    public Connection open(String applicationName) throws SQLException {
        try {
            return DriverManager.getConnection(jdbcUrl(), properties(applicationName));
        } catch (SQLException e) {
            throw new ConnectFailure(ConnectError.explain(this, e), e);
        }
    }

    public Properties properties(String applicationName) {
        Properties props = new Properties();
        props.setProperty("connectTimeout", "10");
        params.forEach(props::setProperty);
        // After the URL parameters: these never come from anywhere else.
        if (user != null) {
            props.setProperty("user", user);
        }
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("ApplicationName", applicationName);
        return props;
    }

    /** The JDBC URL without any credential: safe to print. */
    public String jdbcUrl() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + database;
    }

    /** A one-line description for messages and logs: never contains the password. */
    public String describe() {
        return user + "@" + host + ":" + port + "/" + database;
    }

    public String host() { return host; }
    public int port() { return port; }
    public String database() { return database; }
    public String user() { return user; }
    public boolean hasPassword() { return password != null; }
    /** For handing to child processes through the environment (PGPASSWORD), never argv. */
    public String passwordForChildEnvironment() { return password; }

    public ConnectionSpec withDatabase(String otherDatabase) {
        return new ConnectionSpec(host, port, otherDatabase, user, password, params);
    }

    @Override
    public String toString() {
        return describe();
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static int parsePort(String value, String what) {
        try {
            int p = Integer.parseInt(value.trim());
            if (p <= 0 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new BadConnectionUrl(what + " must be a port number between 1 and 65535 (got '" + value + "')");
        }
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    /** ~/.pgpass lookup with libpq's rules: host:port:database:user:password, '*' matches anything. */
    static final class PgPass {
        static String lookup(Path file, String host, int port, String database, String user) {
            if (file == null || !Files.isReadable(file)) {
                return null;
            }
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank() || line.startsWith("#")) {
                        continue;
                    }
                    List<String> f = split(line);
                    if (f.size() < 5) {
                        continue;
                    }
                    if (matches(f.get(0), host) && matches(f.get(1), Integer.toString(port))
                            && matches(f.get(2), database) && matches(f.get(3), user)) {
                        return f.get(4);
                    }
                }
            } catch (IOException e) {
                return null;
            }
            return null;
        }

        private static boolean matches(String pattern, String value) {
            return "*".equals(pattern) || pattern.equals(value)
                    || ("localhost".equals(pattern) && ("127.0.0.1".equals(value) || "::1".equals(value)));
        }

        private static List<String> split(String line) {
            List<String> out = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c == '\\' && i + 1 < line.length()) {
                    cur.append(line.charAt(++i));
                } else if (c == ':' && out.size() < 4) {
                    out.add(cur.toString());
                    cur.setLength(0);
                } else {
                    cur.append(c);
                }
            }
            out.add(cur.toString());
            return out;
        }
    }
}
