package io.jvhost.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** The only class touching jdk.httpserver, loaded after PrometheusEndpoint checked that it is there. */
final class HttpBinding {
    private final HttpServer server;
    private boolean stopped;

    private HttpBinding(HttpServer server) {
        this.server = server;
    }

    static HttpBinding start(InetSocketAddress address, Supplier<ServerSnapshot> source) throws IOException {
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/", exchange -> handle(exchange, source));
        s.start(); // one dispatcher thread runs the handler: scrapes are rare and cheap
        return new HttpBinding(s);
    }

    private static void handle(HttpExchange exchange, Supplier<ServerSnapshot> source) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            if (!path.equals("/metrics") && !path.equals("/")) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: scrape /metrics\n", true);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n", true);
            } else {
                String body;
                try {
                    body = PrometheusFormat.format(source.get());
                } catch (RuntimeException e) {
                    send(exchange, 500, "text/plain; charset=utf-8", "cannot read metrics: " + e + "\n", true);
                    return;
                }
                send(exchange, 200, PrometheusFormat.CONTENT_TYPE, body, method.equals("GET"));
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String type, String body, boolean withBody)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, withBody ? bytes.length : -1);
        if (withBody) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    synchronized void stop() {
        if (!stopped) {
            stopped = true;
            server.stop(0);
        }
    }
}
