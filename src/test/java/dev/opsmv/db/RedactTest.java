package dev.opsmv.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

/** Issue 29: a password equal to the user name masks the password, never the user name. */
class RedactTest {
    @Test
    void aPasswordEqualToTheUserNameLeavesTheUserReadable() {
        Redact.remember("deploy");
        assertEquals("cannot connect to deploy@127.0.0.1:5432/ops: password authentication failed for user 'deploy'",
                Redact.text("cannot connect to deploy@127.0.0.1:5432/ops: password authentication failed for user 'deploy'", "deploy"));
        assertEquals("postgres://deploy:***@h/db", Redact.url("postgres://deploy:deploy@h/db"));
        assertEquals("jdbc:postgresql://h/db?user=deploy&password=***", Redact.url("jdbc:postgresql://h/db?user=deploy&password=deploy"));
        assertEquals("host=h user=deploy password=***", Redact.url("host=h user=deploy password=deploy"));
        assertEquals("FATAL: role \"deploy\" does not exist", Redact.url("FATAL: role \"deploy\" does not exist"));
        // anywhere else the password is still replaced, also where it is not in a URL
        assertEquals("FATAL: *** rejected", Redact.text("FATAL: deploy rejected", "deploy"));
        assertEquals("u:***@h", Redact.text("u:deploy@h", "deploy"));
    }

    @Test
    void theConnectErrorOfSuchALoginNamesTheUser() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ConnectionSpec spec = ConnectionSpec.of("127.0.0.1", port, "ops", "ops_reader", "ops_reader");
        SQLException e = assertThrows(SQLException.class, () -> spec.open("opsmv-tests").close());
        assertTrue(e.getMessage().startsWith("cannot connect to ops_reader@127.0.0.1:" + port + "/ops: "), e.getMessage());
        assertFalse(e.getMessage().contains("***@"), e.getMessage());
    }
}
