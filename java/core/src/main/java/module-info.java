/**
 * jvhost: vhost-user ports for Java, served by DPDK's librte_vhost through a thin JNI shim.
 *
 * <p>Start with {@link io.jvhost.eal.Eal}, then open a {@link io.jvhost.vhost.VhostUserPort} and
 * move {@link io.jvhost.mbuf.PacketBatch}es through its {@link io.jvhost.vhost.VhostDevice}s.
 * {@code io.jvhost.internal} (the JNI classes) is not exported.
 */
module io.jvhost.core {
    requires jdk.unsupported; // sun.misc.Unsafe: packet bytes in place on JDK 17-21 (internal.UnsafeMemory)
    requires transitive java.management; // io.jvhost.metrics' MBeans: its API names ObjectName, MBeanServer
    requires static jdk.httpserver; // io.jvhost.metrics.PrometheusEndpoint only: optional for users

    exports io.jvhost;
    exports io.jvhost.eal;
    exports io.jvhost.ethdev;
    exports io.jvhost.iotlb;
    exports io.jvhost.log;
    exports io.jvhost.loop;
    exports io.jvhost.mbuf;
    exports io.jvhost.metrics;
    exports io.jvhost.protocol;
    exports io.jvhost.serve;
    exports io.jvhost.vhost;
}
