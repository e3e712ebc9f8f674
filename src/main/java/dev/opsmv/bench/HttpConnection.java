package dev.opsmv.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 keep-alive client on one socket: GET, read the status line and headers, skip a
 * Content-Length body. No HTTP library between the benchmark and the server, so the load level
 * measures the server and not a client's own machinery (the JDK HttpClient cost as much CPU as the
 * endpoint on 2 cores).
 */
final class HttpConnection implements AutoCloseable {
    /** A response: status, the endpoint's source header (null when absent), body length. */
    record Response(int status, String source, long length) {
    }

    private final String host;
    private final int port;
    private Socket socket;
    private OutputStream out;
    private InputStream in;
    private final byte[] skip = new byte[64 * 1024];

    HttpConnection(String host, int port) {
        this.host = host;
        this.port = port;
    }

    Response get(String path) throws IOException {
        return get(path, "Accept: application/json\r\n");
    }

    /** GET with {@code headers} (each line ending in CRLF) instead of the default Accept. */
    Response get(String path, String headers) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(120_000);
            out = new BufferedOutputStream(socket.getOutputStream(), 1024);
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        }
        try {
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n" + headers + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String status = line();
            if (!status.startsWith("HTTP/1.1 ") || status.length() < 12) {
                throw new IOException("not an HTTP/1.1 status line: " + status);
            }
            int code = Integer.parseInt(status.substring(9, 12));
            long length = -1;
            String source = null;
            boolean close = false;
            for (String h = line(); !h.isEmpty(); h = line()) {
                int colon = h.indexOf(':');
                String name = colon < 0 ? h : h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = colon < 0 ? "" : h.substring(colon + 1).trim();
                switch (name) {
                    case "content-length" -> length = Long.parseLong(value);
                    case "x-opsmv-source" -> source = value;
                    case "connection" -> close = value.equalsIgnoreCase("close");
                    default -> { }
                }
            }
            if (code == 304 || code == 204) {
                length = 0; // no body, whatever the headers say
            }
            if (length < 0) {
                throw new IOException("response without Content-Length");
            }
            for (long left = length; left > 0; ) {
                int n = in.read(skip, 0, (int) Math.min(skip.length, left));
                if (n < 0) {
                    throw new EOFException("connection closed inside a response body");
                }
                left -= n;
            }
            if (close) {
                close();
            }
            return new Response(code, source, length);
        } catch (IOException | RuntimeException e) {
            close(); // the next request starts on a new connection
            throw e;
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new EOFException("connection closed by the server");
            }
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
            socket = null;
        }
    }
}
