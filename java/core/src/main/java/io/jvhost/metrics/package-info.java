/**
 * Metrics of a {@link io.jvhost.serve.PortServer} for operators: consistent snapshots
 * ({@link io.jvhost.metrics.ServerSnapshot}), JMX MBeans on the platform MBean server
 * ({@link io.jvhost.metrics.JmxMetrics}), the Prometheus text format
 * ({@link io.jvhost.metrics.PrometheusFormat}) and an HTTP endpoint serving it
 * ({@link io.jvhost.metrics.PrometheusEndpoint}), and one-line JSON records
 * ({@link io.jvhost.metrics.JsonStats}).
 *
 * <p>Reading metrics never touches freed native state: a device that went away, a closed port or a
 * closed EAL read as disconnected or closed, never as an error. Counters are the server's (see
 * {@link io.jvhost.serve.QueueCounters}); IOTLB hits and misses are DPDK's per-vring statistics
 * ({@link io.jvhost.vhost.VhostDevice#stats}) of the port's current device, so they restart from 0
 * when a new frontend connects.
 */
package io.jvhost.metrics;
