package dev.opsmv.api;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.opsmv.health.HealthJson;

/**
 * What a request is answered with, written once at the end of {@link ApiServer}'s handler; {@code source} is where
 * a driver-matrix page came from (materialized_view, view), "none" for anything else: a label of the metrics.
 */
record Reply(int code, String contentType, byte[] body, int length, String source) {
    static final String JSON_TYPE = "application/json; charset=utf-8";

    static Reply json(int code, ObjectNode body) {
        byte[] bytes = HealthJson.writeCompact(body).getBytes(StandardCharsets.UTF_8);
        return new Reply(code, JSON_TYPE, bytes, bytes.length, "none");
    }

    /** {"error": message, "parameter": parameter}: every error of the endpoint has this shape. */
    static Reply error(int code, String message, String parameter) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("error", message);
        if (parameter != null) {
            o.put("parameter", parameter);
        }
        return json(code, o);
    }
}
