package dev.opsmv.migrate;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Applies the runner's --lock-timeout without changing any changeset checksum.
 *
 * <p>Liquibase computes the checksum of a formatted-SQL changeset after substituting changelog
 * parameters, so running with {@code lock_timeout=2s} instead of the default would record (or
 * compare against) different checksums, and the next update with another value fails validation.
 * The runner therefore always gives Liquibase the changelog's default value and rewrites, as they
 * are executed, exactly the statements {@code SET [LOCAL] lock_timeout = '<default>'}. Nothing
 * else is touched.
 */
final class LockTimeoutOverride {
    private LockTimeoutOverride() {
    }

    static Connection wrap(Connection connection, String defaultValue, String value) {
        if (value.equals(defaultValue)) {
            return connection;
        }
        Pattern set = Pattern.compile("(?is)^(\\s*SET\\s+(?:LOCAL\\s+|SESSION\\s+)?lock_timeout\\s*(?:=|TO)\\s*)'"
                + Pattern.quote(defaultValue) + "'(\\s*;?\\s*)$");
        return proxy(Connection.class, connection, (target, method, args) -> {
            if (args != null && args.length > 0 && args[0] instanceof String sql
                    && (method.getName().equals("prepareStatement") || method.getName().equals("prepareCall")
                    || method.getName().equals("nativeSQL"))) {
                args[0] = rewrite(set, sql, value);
            }
            Object result = invoke(target, method, args);
            if (result instanceof CallableStatement || result instanceof PreparedStatement) {
                return result;
            }
            if (result instanceof Statement st) {
                return proxy(Statement.class, st, (t, m, a) -> {
                    if (a != null && a.length > 0 && a[0] instanceof String sql
                            && (m.getName().startsWith("execute") || m.getName().equals("addBatch"))) {
                        a[0] = rewrite(set, sql, value);
                    }
                    return invoke(t, m, a);
                });
            }
            return result;
        });
    }

    /** Rewrites {@code SET lock_timeout = '<default>'} lines of generated SQL (update-sql output). */
    static String rewriteScript(String script, String defaultValue, String value) {
        if (value.equals(defaultValue)) {
            return script;
        }
        return Pattern.compile("(?im)^(\\s*SET\\s+(?:LOCAL\\s+|SESSION\\s+)?lock_timeout\\s*(?:=|TO)\\s*)'"
                        + Pattern.quote(defaultValue) + "'")
                .matcher(script).replaceAll("$1'" + Matcher.quoteReplacement(value) + "'");
    }

    private static String rewrite(Pattern set, String sql, String value) {
        Matcher m = set.matcher(sql);
        return m.matches() ? m.group(1) + "'" + value + "'" + m.group(2) : sql;
    }

    private interface Handler<T> {
        Object handle(T target, Method method, Object[] args) throws Throwable;
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, T target, Handler<T> handler) {
        InvocationHandler h = (p, method, args) -> handler.handle(target, method, args);
        return (T) Proxy.newProxyInstance(LockTimeoutOverride.class.getClassLoader(), new Class<?>[] {type}, h);
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
