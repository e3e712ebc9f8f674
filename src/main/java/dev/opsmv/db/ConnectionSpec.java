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
    // Further servers of a multi-host URL or of several --url (serve): tried in order by pgjdbc after the first.
    private final List<Endpoint> more;

    /** One server of a multi-host connection; port 0 = not given (PGPORT or 5432). */
    record Endpoint(String host, int port) {
        String text() {
            return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    ConnectionSpec(String host, int port, String database, String user, String password, Map<String, String> params) {
        this(host, port, database, user, password, params, List.of());
    }

    ConnectionSpec(String host, int port, String database, String user, String password, Map<String, String> params,
                   List<Endpoint> more) {
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.params = Map.copyOf(params);
        this.more = List.copyOf(more);
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
        int defaultPort = parsePort(firstNonBlank(env.get("PGPORT"), "5432"), "PGPORT");
        int port = parsed.port > 0 ? parsed.port : defaultPort;
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
        List<Endpoint> more = new ArrayList<>();
        for (Endpoint e : parsed.more) {
            more.add(new Endpoint(e.host(), e.port() > 0 ? e.port() : defaultPort));
        }
        return new ConnectionSpec(host, port, database, user, password, params, more);
    }

    /**
     * Several resolved connections as one multi-host connection for readers (serve): pgjdbc tries the
     * standbys first, in the given order, and the primary when no standby answers
     * ({@code targetServerType=preferSecondary} unless a URL asked otherwise). They must name the same
     * database, user and password, since one pool connects to whichever answers.
     */
    public static ConnectionSpec anyOf(List<ConnectionSpec> specs) {
        if (specs.size() == 1) {
            return specs.get(0);
        }
        ConnectionSpec first = specs.get(0);
        List<Endpoint> more = new ArrayList<>(first.more);
        Map<String, String> params = new LinkedHashMap<>(first.params);
        for (ConnectionSpec s : specs.subList(1, specs.size())) {
            if (!java.util.Objects.equals(s.database, first.database) || !java.util.Objects.equals(s.user, first.user)
                    || !java.util.Objects.equals(s.password, first.password)) {
                throw new BadConnectionUrl("--url given " + specs.size() + " times with different databases, users or passwords ("
                        + first.describe() + " vs " + s.describe() + "): the servers of one serve must be replicas of one database, "
                        + "reached as the same user");
            }
            more.add(new Endpoint(s.host, s.port));
            more.addAll(s.more);
            s.params.forEach(params::putIfAbsent);
        }
        params.putIfAbsent("targetServerType", "preferSecondary");
        return new ConnectionSpec(first.host, first.port, first.database, first.user, first.password, params, more);
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
        // Several hosts (libpq and pgjdbc: host1:port1,host2:port2): the first goes through URI, the others are read here.
        List<Endpoint> more = new ArrayList<>();
        int authorityEnd = indexOfAny(rest, '/', '?');
        String authority = authorityEnd < 0 ? rest : rest.substring(0, authorityEnd);
        int at = authority.lastIndexOf('@');
        String hostList = authority.substring(at + 1);
        if (hostList.contains(",")) {
            String[] hosts = hostList.split(",", -1);
            for (int i = 1; i < hosts.length; i++) {
                more.add(endpoint(hosts[i], url));
            }
            rest = authority.substring(0, at + 1) + hosts[0] + (authorityEnd < 0 ? "" : rest.substring(authorityEnd));
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
                    case "target_session_attrs" -> params.put("targetServerType", targetServerType(value, url));
                    case "host", "hostaddr", "port" -> throw new BadConnectionUrl("malformed connection URL " + Redact.url(url)
                            + ": give the " + key + " in the authority part (postgres://user@host:port/db), not as ?" + key + "=");
                    default -> params.put(key, value);
                }
            }
        }
        return new ConnectionSpec(uri.getHost(), Math.max(uri.getPort(), 0), database, user, password, params, more);
    }

    private static Endpoint endpoint(String hostPort, String url) {
        URI u;
        try {
            u = new URI("postgres://" + hostPort);
        } catch (URISyntaxException e) {
            u = null;
        }
        if (hostPort.isBlank() || u == null || u.getHost() == null || u.getPort() == 0 || u.getPort() > 65535) {
            throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": cannot read the host '" + hostPort
                    + "' of the host list (host:port,host:port)");
        }
        return new Endpoint(u.getHost(), Math.max(u.getPort(), 0));
    }

    /** libpq's target_session_attrs in pgjdbc's words (pgjdbc has no read-only test: a standby is what answers read-only). */
    private static String targetServerType(String libpq, String url) {
        return switch (libpq) {
            case "any" -> "any";
            case "read-write", "primary" -> "primary";
            case "read-only", "standby" -> "secondary";
            case "prefer-standby" -> "preferSecondary";
            default -> throw new BadConnectionUrl("malformed connection URL " + Redact.url(url) + ": target_session_attrs must be one of "
                    + "any, read-write, read-only, primary, standby, prefer-standby (got '" + libpq + "')");
        };
    }

    private static int indexOfAny(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        return i < 0 ? j : j < 0 ? i : Math.min(i, j);
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
        return "jdbc:postgresql://" + hosts() + "/" + database;
    }

    /** A one-line description for messages and logs: never contains the password. */
    public String describe() {
        return user + "@" + hosts() + "/" + database;
    }

    /** host:port, or host:port,host:port,… for several servers. */
    private String hosts() {
        StringBuilder sb = new StringBuilder(new Endpoint(host, port).text());
        more.forEach(e -> sb.append(',').append(e.text()));
        return sb.toString();
    }

    /** More than one server: pgjdbc chooses among them by targetServerType. */
    public boolean multiHost() {
        return !more.isEmpty();
    }

    public String host() { return host; }
    public int port() { return port; }
    public String database() { return database; }
    public String user() { return user; }
    public boolean hasPassword() { return password != null; }
    /** For handing to child processes through the environment (PGPASSWORD), never argv. */
    public String passwordForChildEnvironment() { return password; }

    public ConnectionSpec withDatabase(String otherDatabase) {
        return new ConnectionSpec(host, port, otherDatabase, user, password, params, more);
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
