package io.jvhost.metrics;

import io.jvhost.serve.PortServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * An HTTP endpoint serving {@link PrometheusFormat} at {@code /metrics}, on the JDK's built-in
 * HTTP server (module {@code jdk.httpserver}, an optional dependency of {@code io.jvhost.core}: a
 * modular application using this class adds {@code requires jdk.httpserver;} or
 * {@code --add-modules jdk.httpserver}; on the class path it is there). Bind it to loopback unless
 * the metrics are meant for the network: it has no authentication.
 *
 * <pre>{@code
 * try (PrometheusEndpoint http = PrometheusEndpoint.start(new InetSocketAddress("127.0.0.1", 9100), server)) {
 *     System.out.println("scrape " + http.uri());
 *     ...
 * }
 * }</pre>
 */
public final class PrometheusEndpoint implements AutoCloseable {
    private final HttpBinding http;

    private PrometheusEndpoint(HttpBinding http) {
        this.http = http;
    }

    /**
     * Serves {@code server}'s metrics.
     *
     * @param address where to listen; port 0 for an ephemeral port (see {@link #address()})
     * @param server the server
     * @return the running endpoint
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if module {@code jdk.httpserver} is not available
     */
    public static PrometheusEndpoint start(InetSocketAddress address, PortServer server) {
        return start(address, MetricsSource.of(server));
    }

    /**
     * Serves the metrics of {@code source} (e.g. an application's {@link PortCounters}).
     *
     * @param address where to listen; port 0 for an ephemeral port (see {@link #address()})
     * @param source the ports and counters
     * @return the running endpoint
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if module {@code jdk.httpserver} is not available
     */
    public static PrometheusEndpoint start(InetSocketAddress address, MetricsSource source) {
        Objects.requireNonNull(source, "source");
        return start(address, () -> ServerSnapshot.of(source));
    }

    /**
     * Serves the snapshots {@code source} gives, one per request.
     *
     * @param address where to listen; port 0 for an ephemeral port (see {@link #address()})
     * @param source called on the HTTP server's thread for each scrape
     * @return the running endpoint
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if module {@code jdk.httpserver} is not available
     */
    public static PrometheusEndpoint start(InetSocketAddress address, Supplier<ServerSnapshot> source) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(source, "source");
        checkHttpServerReadable();
        try {
            return new PrometheusEndpoint(HttpBinding.start(address, source));
        } catch (IOException e) {
            String at = (address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString())
                    + ":" + address.getPort();
            throw new UncheckedIOException("cannot serve metrics on " + at + ": " + e.getMessage(), e);
        }
    }

    /** A clear error instead of a NoClassDefFoundError when the optional module is missing. */
    private static void checkHttpServerReadable() {
        Module self = PrometheusEndpoint.class.getModule();
        if (!self.isNamed()) {
            return; // class path: every system module with an API is in the boot layer
        }
        ModuleLayer layer = Optional.ofNullable(self.getLayer()).orElse(ModuleLayer.boot());
        Optional<Module> http = layer.findModule("jdk.httpserver");
        if (http.isEmpty() || !self.canRead(http.get())) {
            throw new IllegalStateException("the Prometheus endpoint needs module jdk.httpserver: add"
                    + " 'requires jdk.httpserver;' to your module or run with --add-modules jdk.httpserver");
        }
    }

    /** @return the address it listens on (the actual port when started with port 0) */
    public InetSocketAddress address() {
        return http.address();
    }

    /** @return the URI to scrape */
    public URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort() + "/metrics");
    }

    /** Stops listening, at once; idempotent. */
    @Override
    public void close() {
        http.stop();
    }
}
