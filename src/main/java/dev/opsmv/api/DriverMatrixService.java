package dev.opsmv.api;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.OffsetDateTime;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.opsmv.db.Replication;
import dev.opsmv.health.HealthJson;

/**
 * Serves the driver matrix from the MV when it exists and is populated, else from the plain view.
 *
 * <p>The MV's state is read from pg_class on every request (one catalog lookup, no lock on the MV),
 * so dropping, emptying or refreshing the MV takes effect on the next request without a restart.
 * A plain REFRESH holds ACCESS EXCLUSIVE on the MV: the MV query runs with a short lock_timeout and,
 * when it cannot get its lock (55P03), the request falls back to the plain view. The same fallback
 * covers an MV dropped or emptied between the lookup and the query (42P01, 55000).
 */
public final class DriverMatrixService {
    public static final String SOURCE_MV = "materialized_view";
    public static final String SOURCE_VIEW = "view";
    private static final Logger LOG = LoggerFactory.getLogger(DriverMatrixService.class);

    private final DataSource pool;
    private final ApiConfig config;

    public DriverMatrixService(DataSource pool, ApiConfig config) {
        this.pool = pool;
        this.config = config;
    }

    /** What one request got: the JSON body and where it came from. */
    public record Result(ObjectNode body, String source, String fallbackReason, int rows) {
    }

    /** Which relation a request reads when nothing holds a lock on the MV, and why not the MV. */
    public record Choice(String relation, String source, String fallbackReason) {
    }

    /** The MV when it exists and is populated, else the plain view (what {@link #query} reads, before any lock fallback). */
    public static Choice choose(Connection c) throws SQLException {
        Boolean populated = mvPopulated(c);
        if (populated == null) {
            return new Choice(DriverMatrixQuery.VIEW, SOURCE_VIEW, "materialized view " + DriverMatrixQuery.MV + " does not exist");
        }
        if (!populated) {
            return new Choice(DriverMatrixQuery.VIEW, SOURCE_VIEW, "materialized view " + DriverMatrixQuery.MV + " is not populated");
        }
        return new Choice(DriverMatrixQuery.MV, SOURCE_MV, null);
    }

    public Result query(DriverMatrixQuery q) throws SQLException {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            String fallback;
            try {
                begin(c);
                Choice choice = choose(c);
                if (choice.fallbackReason() != null) {
                    fallback = choice.fallbackReason();
                } else {
                    Freshness fresh = lastOkRefresh(c);
                    try {
                        ArrayNode rows = rows(c, q, DriverMatrixQuery.MV);
                        c.commit();
                        LOG.info("driver-matrix: using materialized view ({} rows)", rows.size());
                        return new Result(body(q, SOURCE_MV, null, fresh, rows), SOURCE_MV, null, rows.size());
                    } catch (SQLException e) {
                        fallback = fallbackReason(e);
                        if (fallback == null) {
                            throw e;
                        }
                        c.rollback();
                    }
                }
            } catch (SQLException e) {
                throw rollbackAfter(c, e);
            }
            LOG.info("driver-matrix: falling back to the plain view: {}", fallback);
            try {
                begin(c);
                ArrayNode rows = rows(c, q, DriverMatrixQuery.VIEW);
                c.commit();
                return new Result(body(q, SOURCE_VIEW, fallback, null, rows), SOURCE_VIEW, fallback, rows.size());
            } catch (SQLException e) {
                throw rollbackAfter(c, e);
            }
        }
    }

    /** Rolls back after {@code e}; a connection that died with it fails the rollback too, so keep the first error. */
    private static SQLException rollbackAfter(Connection c, SQLException e) {
        try {
            c.rollback();
        } catch (SQLException again) {
            e.addSuppressed(again);
        }
        return e;
    }

    /** Read-only transaction with this request's bounds: every statement, and every lock wait. */
    private void begin(Connection c) throws SQLException {
        // One round trip instead of three SET statements: on a busy 2-core host each one costs.
        try (Statement st = c.createStatement()) {
            st.execute("SELECT set_config('transaction_read_only', 'on', true), set_config('statement_timeout', '"
                    + config.statementTimeoutMs() + "', true), set_config('lock_timeout', '" + config.lockTimeoutMs() + "', true)");
        }
    }

    /** null: no such MV; from pg_class, not pg_matviews, whose definition column would lock the MV. */
    private static Boolean mvPopulated(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT c.relispopulated FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE n.nspname = 'ops' AND c.relname = 'mv_payments_driver_matrix_cabinet' AND c.relkind = 'm'")) {
            return rs.next() ? rs.getBoolean(1) : null;
        }
    }

    /** The MV's last OK refresh as this server has it, and where this server stands in replication (a standby's replay lag). */
    private record Freshness(OffsetDateTime lastOk, Replication.State replication) {
    }

    private static Freshness lastOkRefresh(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT max(refresh_finished_at), " + Replication.COLUMNS + " FROM ops.mv_refresh_log "
                        + "WHERE schema_name = 'ops' AND mv_name = 'mv_payments_driver_matrix_cabinet' AND status = 'OK'")) {
            rs.next();
            return new Freshness(rs.getObject(1, OffsetDateTime.class), Replication.State.from(rs));
        }
    }

    /** Why the MV query may give way to the view; null when the error is not one the view can avoid. */
    private String fallbackReason(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return switch (state) {
            case "55P03" -> "materialized view is locked (a plain REFRESH holds ACCESS EXCLUSIVE); gave up after lock_timeout "
                    + config.lockTimeoutMs() + " ms";
            case "55000" -> "materialized view is not populated";
            case "42P01" -> "materialized view does not exist";
            default -> null;
        };
    }

    private static ArrayNode rows(Connection c, DriverMatrixQuery q, String relation) throws SQLException {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        try (PreparedStatement ps = c.prepareStatement(q.sql(relation))) {
            q.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    ObjectNode row = out.addObject();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        put(row, md.getColumnLabel(i), md.getColumnType(i), md.getColumnTypeName(i), rs, i);
                    }
                }
            }
        }
        return out;
    }

    /** SQL value → JSON: numeric stays an exact number, dates ISO, timestamptz ISO in UTC. */
    private static void put(ObjectNode row, String name, int type, String typeName, ResultSet rs, int i) throws SQLException {
        switch (type) {
            case Types.NUMERIC, Types.DECIMAL -> row.put(name, rs.getBigDecimal(i));
            case Types.BIGINT -> {
                long v = rs.getLong(i);
                if (rs.wasNull()) row.putNull(name); else row.put(name, v);
            }
            case Types.INTEGER, Types.SMALLINT -> {
                int v = rs.getInt(i);
                if (rs.wasNull()) row.putNull(name); else row.put(name, v);
            }
            case Types.BOOLEAN, Types.BIT -> {
                boolean v = rs.getBoolean(i);
                if (rs.wasNull()) row.putNull(name); else row.put(name, v);
            }
            case Types.DATE -> {
                java.sql.Date d = rs.getDate(i);
                row.put(name, d == null ? null : d.toLocalDate().toString());
            }
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> {
                if ("timestamptz".equals(typeName)) {
                    row.put(name, HealthJson.time(rs.getObject(i, OffsetDateTime.class)));
                } else {
                    java.sql.Timestamp t = rs.getTimestamp(i);
                    row.put(name, t == null ? null : t.toLocalDateTime().toString());
                }
            }
            default -> row.put(name, rs.getString(i));
        }
    }

    private static ObjectNode body(DriverMatrixQuery q, String source, String fallback, Freshness fresh, ArrayNode rows) {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.put("source", source);
        body.put("fallback_reason", fallback);
        body.put("mv_last_ok_refresh_at", fresh == null ? null : HealthJson.time(fresh.lastOk()));
        // On a standby the refresh log row is the replayed one; the lag says how much may be missing on top of its age.
        if (fresh == null) {
            body.putNull("in_recovery");
            body.putNull("replay_lag_seconds");
        } else {
            body.put("in_recovery", fresh.replication().inRecovery());
            body.put("replay_lag_seconds", fresh.replication().replayLagSeconds());
        }
        ObjectNode filters = body.putObject("filters");
        filters.put("origin_tag", q.originTag());
        filters.put("week_start_from", q.weekStartFrom().toString());
        filters.put("week_start_to", q.weekStartTo() == null ? null : q.weekStartTo().toString());
        ArrayNode defaults = filters.putArray("defaults_applied");
        q.defaultsApplied().forEach(defaults::add);
        body.put("order_by", DriverMatrixQuery.ORDER_BY);
        body.put("limit", q.limit());
        body.put("offset", q.offset());
        body.put("count", rows.size());
        body.set("rows", rows);
        return body;
    }
}
