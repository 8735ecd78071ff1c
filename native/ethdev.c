/* SPDX-License-Identifier: Apache-2.0
 * DPDK ethdev ports made from virtual devices (net_virtio_user, ...): in-process frontends
 * for jvhost's vhost-user ports, and a way to forward between them and DPDK ports.
 */
#include <errno.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "jvhost.h"

#define ETHDEV_CLASS "io/jvhost/internal/NativeEthdev"

/* Creates the vdev and returns its port id, or -errno. */
static jint JNICALL
ethdev_jni_vdev_create(JNIEnv *env, jclass clazz, jstring jname, jstring jargs)
{
	const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
	const char *args = name != NULL ? (*env)->GetStringUTFChars(env, jargs, NULL) : NULL;
	uint16_t port;
	int rc;

	if (name == NULL || args == NULL) {
		if (name != NULL)
			(*env)->ReleaseStringUTFChars(env, jname, name);
		return -ENOMEM;
	}
	rc = rte_vdev_init(name, args);
	if (rc == 0) {
		rc = rte_eth_dev_get_port_by_name(name, &port);
		if (rc == 0)
			rc = port;
		else
			rte_vdev_uninit(name);
	}
	(*env)->ReleaseStringUTFChars(env, jargs, args);
	(*env)->ReleaseStringUTFChars(env, jname, name);
	return rc < 0 ? rc : rc;
}

/* Configures rxq/txq queues of ring_size descriptors each and starts the port; 0 or -errno. */
static jint JNICALL
ethdev_jni_configure_and_start(JNIEnv *env, jclass clazz, jint port, jint rxq, jint txq, jint ring_size,
		jlong pool)
{
	struct rte_eth_conf conf;
	int rc, q;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure((uint16_t)port, (uint16_t)rxq, (uint16_t)txq, &conf);
	if (rc < 0)
		return rc;
	for (q = 0; q < rxq; q++) {
		rc = rte_eth_rx_queue_setup((uint16_t)port, (uint16_t)q, (uint16_t)ring_size,
			rte_eth_dev_socket_id((uint16_t)port), NULL, (struct rte_mempool *)(uintptr_t)pool);
		if (rc < 0)
			return rc;
	}
	for (q = 0; q < txq; q++) {
		rc = rte_eth_tx_queue_setup((uint16_t)port, (uint16_t)q, (uint16_t)ring_size,
			rte_eth_dev_socket_id((uint16_t)port), NULL);
		if (rc < 0)
			return rc;
	}
	return rte_eth_dev_start((uint16_t)port);
}

static jint JNICALL
ethdev_jni_rx_burst(JNIEnv *env, jclass clazz, jint port, jint q, jlong pkts, jint offset, jint max)
{
	return rte_eth_rx_burst((uint16_t)port, (uint16_t)q, (struct rte_mbuf **)(uintptr_t)pkts + offset,
		(uint16_t)max);
}

/* Transmits; the driver owns what it took, the rest moves to the front of the array. */
static jint JNICALL
ethdev_jni_tx_burst(JNIEnv *env, jclass clazz, jint port, jint q, jlong pkts_addr, jint count)
{
	struct rte_mbuf **pkts = (struct rte_mbuf **)(uintptr_t)pkts_addr;
	uint16_t sent = rte_eth_tx_burst((uint16_t)port, (uint16_t)q, pkts, (uint16_t)count);

	if (sent > 0 && sent < count)
		memmove(pkts, pkts + sent, (size_t)(count - sent) * sizeof(*pkts));
	return sent;
}

static jint JNICALL
ethdev_jni_link_up(JNIEnv *env, jclass clazz, jint port)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait((uint16_t)port, &link) != 0)
		return -1;
	return link.link_status == RTE_ETH_LINK_UP ? 1 : 0;
}

/* Stops and closes the port, then removes the vdev. */
static jint JNICALL
ethdev_jni_close(JNIEnv *env, jclass clazz, jint port, jstring jname)
{
	const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
	int rc;

	if (name == NULL)
		return -ENOMEM;
	rte_eth_dev_stop((uint16_t)port);
	rte_eth_dev_close((uint16_t)port);
	rc = rte_vdev_uninit(name);
	(*env)->ReleaseStringUTFChars(env, jname, name);
	return rc;
}

static const JNINativeMethod methods[] = {
	{ "vdevCreate", "(Ljava/lang/String;Ljava/lang/String;)I", (void *)ethdev_jni_vdev_create },
	{ "configureAndStart", "(IIIIJ)I", (void *)ethdev_jni_configure_and_start },
	{ "rxBurst", "(IIJII)I", (void *)ethdev_jni_rx_burst },
	{ "txBurst", "(IIJI)I", (void *)ethdev_jni_tx_burst },
	{ "linkUp", "(I)I", (void *)ethdev_jni_link_up },
	{ "close", "(ILjava/lang/String;)I", (void *)ethdev_jni_close },
};

int
jvhost_ethdev_register(JNIEnv *env)
{
	return jvhost_register(env, ETHDEV_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
