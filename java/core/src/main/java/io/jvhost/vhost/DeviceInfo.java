package io.jvhost.vhost;

/**
 * What librte_vhost reports of a live device in one call, built by native/vhost_device.c.
 *
 * @param features the negotiated virtio features
 * @param protocolFeatures the negotiated vhost-user protocol features
 * @param vringCount the vrings the frontend set up
 * @param numaNode the NUMA node of the device's memory, -1 if unknown
 * @param mtu the MTU the frontend set, -1 if none
 */
record DeviceInfo(long features, long protocolFeatures, int vringCount, int numaNode, int mtu) {
}
