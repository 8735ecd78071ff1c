package io.jvhost.metrics;

import io.jvhost.serve.PortServer;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * The MBeans of a {@link PortServer}: a {@link PortMXBean} per port and a {@link QueueMXBean} per
 * port and queue pair, registered while this object is open; {@link #close()} unregisters them.
 * Readable with {@code jconsole}, VisualVM or any JMX client, under the domain {@value #DOMAIN}.
 *
 * <pre>{@code
 * try (PortServer server = PortServer.start(ports, Mode.LOOPBACK, pool, 64, 0);
 *         JmxMetrics jmx = JmxMetrics.register(server)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>The MBeans read the server's counters and the ports' devices at each request; after the
 * server, a port or EAL closed they report it (not running, closed, not connected) with the last
 * counts. Socket paths are unique in a process, so two servers of the same port cannot be
 * registered at once.
 */
public final class JmxMetrics implements AutoCloseable {
    /** The JMX domain of jvhost's MBeans. */
    public static final String DOMAIN = "io.jvhost";

    private final MBeanServer server;
    private final List<ObjectName> names;
    private boolean closed;

    private JmxMetrics(MBeanServer server, List<ObjectName> names) {
        this.server = server;
        this.names = List.copyOf(names);
    }

    /**
     * Registers {@code portServer}'s MBeans on the platform MBean server.
     *
     * @param portServer the server
     * @return the registration, to close when the MBeans should go
     * @throws IllegalStateException if MBeans of one of its ports are registered already
     */
    public static JmxMetrics register(PortServer portServer) {
        return register(MetricsSource.of(portServer), ManagementFactory.getPlatformMBeanServer());
    }

    /**
     * Registers the MBeans of {@code source} (e.g. an application's {@link PortCounters}) on the
     * platform MBean server.
     *
     * @param source the ports and counters
     * @return the registration, to close when the MBeans should go
     * @throws IllegalStateException if MBeans of one of its ports are registered already
     */
    public static JmxMetrics register(MetricsSource source) {
        return register(source, ManagementFactory.getPlatformMBeanServer());
    }

    /**
     * Registers {@code portServer}'s MBeans on {@code mbeanServer}.
     *
     * @param portServer the server
     * @param mbeanServer where to register
     * @return the registration, to close when the MBeans should go
     * @throws IllegalStateException if MBeans of one of its ports are registered already
     */
    public static JmxMetrics register(PortServer portServer, MBeanServer mbeanServer) {
        return register(MetricsSource.of(portServer), mbeanServer);
    }

    /**
     * Registers the MBeans of {@code source} on {@code mbeanServer}.
     *
     * @param portServer the ports and counters
     * @param mbeanServer where to register
     * @return the registration, to close when the MBeans should go
     * @throws IllegalStateException if MBeans of one of its ports are registered already
     */
    public static JmxMetrics register(MetricsSource portServer, MBeanServer mbeanServer) {
        Objects.requireNonNull(portServer, "source");
        Objects.requireNonNull(mbeanServer, "mbeanServer");
        List<ObjectName> done = new ArrayList<>();
        try {
            for (int p = 0; p < portServer.ports().size(); p++) {
                String socket = portServer.ports().get(p).socket().toString();
                register(mbeanServer, new StandardMBean(new PortBean(portServer, p), PortMXBean.class, true),
                        portName(socket), done);
                for (int q = 0; q < portServer.queuePairs(); q++) {
                    register(mbeanServer, new StandardMBean(new QueueBean(portServer, p, q), QueueMXBean.class, true),
                            queueName(socket, q), done);
                }
            }
        } catch (RuntimeException e) {
            unregister(mbeanServer, done);
            throw e;
        }
        return new JmxMetrics(mbeanServer, done);
    }

    private static void register(MBeanServer mbs, StandardMBean bean, ObjectName name, List<ObjectName> done) {
        try {
            mbs.registerMBean(bean, name);
            done.add(name);
        } catch (InstanceAlreadyExistsException e) {
            throw new IllegalStateException("an MBean named " + name + " is registered already (another server of"
                    + " the same port?)", e);
        } catch (JMException e) {
            throw new IllegalStateException("cannot register " + name + ": " + e, e);
        }
    }

    /**
     * @param socket a port's socket path
     * @return the name of its {@link PortMXBean}
     */
    public static ObjectName portName(String socket) {
        return name("type=Port,socket=" + ObjectName.quote(socket));
    }

    /**
     * @param socket a port's socket path
     * @param queuePair a queue pair
     * @return the name of its {@link QueueMXBean}
     */
    public static ObjectName queueName(String socket, int queuePair) {
        return name("type=Queue,socket=" + ObjectName.quote(socket) + ",queue=" + queuePair);
    }

    private static ObjectName name(String keys) {
        try {
            return new ObjectName(DOMAIN + ":" + keys);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(e.getMessage(), e); // quote() makes any path valid
        }
    }

    /** @return the names registered, ports first then their queues */
    public List<ObjectName> names() {
        return names;
    }

    /** Unregisters the MBeans; idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            unregister(server, names);
        }
    }

    private static void unregister(MBeanServer mbs, List<ObjectName> names) {
        for (ObjectName n : names) {
            try {
                mbs.unregisterMBean(n);
            } catch (InstanceNotFoundException e) {
                // someone else unregistered it: gone either way
            } catch (JMException e) {
                throw new IllegalStateException("cannot unregister " + n + ": " + e, e);
            }
        }
    }

    private static final class PortBean implements PortMXBean {
        private final MetricsSource server;
        private final int port;

        PortBean(MetricsSource server, int port) {
            this.server = server;
            this.port = port;
        }

        private PortSnapshot read() {
            return PortSnapshot.of(server, port);
        }

        @Override
        public String getSocket() {
            return server.ports().get(port).socket().toString();
        }

        @Override
        public int getIndex() {
            return port;
        }

        @Override
        public boolean isOpen() {
            return server.ports().get(port).isOpen();
        }

        @Override
        public boolean isServerRunning() {
            return server.isRunning();
        }

        @Override
        public boolean isConnected() {
            return read().connected();
        }

        @Override
        public int getVid() {
            return read().vid();
        }

        @Override
        public int getVringCount() {
            return read().vringCount();
        }

        @Override
        public int getQueuePairs() {
            return server.queuePairs();
        }

        @Override
        public long getFeatures() {
            return read().features();
        }

        @Override
        public String[] getFeatureNames() {
            return read().featureNames().toArray(String[]::new);
        }

        @Override
        public long getProtocolFeatures() {
            return read().protocolFeatures();
        }

        @Override
        public String[] getProtocolFeatureNames() {
            return read().protocolFeatureNames().toArray(String[]::new);
        }

        @Override
        public long getRxPackets() {
            return read().total().rxPackets();
        }

        @Override
        public long getRxBytes() {
            return read().total().rxBytes();
        }

        @Override
        public long getTxPackets() {
            return read().total().txPackets();
        }

        @Override
        public long getTxBytes() {
            return read().total().txBytes();
        }

        @Override
        public long getDropped() {
            return read().total().dropped();
        }

        @Override
        public long getIotlbHits() {
            return read().total().iotlbHits();
        }

        @Override
        public long getIotlbMisses() {
            return read().total().iotlbMisses();
        }
    }

    private static final class QueueBean implements QueueMXBean {
        private final MetricsSource server;
        private final int port;
        private final int queue;

        QueueBean(MetricsSource server, int port, int queue) {
            this.server = server;
            this.port = port;
            this.queue = queue;
        }

        @Override
        public String getSocket() {
            return server.ports().get(port).socket().toString();
        }

        @Override
        public int getQueuePair() {
            return queue;
        }

        @Override
        public long getRxPackets() {
            return server.counters(port, queue).rxPackets();
        }

        @Override
        public long getRxBytes() {
            return server.counters(port, queue).rxBytes();
        }

        @Override
        public long getTxPackets() {
            return server.counters(port, queue).txPackets();
        }

        @Override
        public long getTxBytes() {
            return server.counters(port, queue).txBytes();
        }

        @Override
        public long getDropped() {
            return server.counters(port, queue).dropped();
        }

        @Override
        public long getIotlbHits() {
            return PortSnapshot.of(server, port).queues().get(queue).iotlbHits();
        }

        @Override
        public long getIotlbMisses() {
            return PortSnapshot.of(server, port).queues().get(queue).iotlbMisses();
        }
    }
}
