/* SPDX-License-Identifier: Apache-2.0
 * Natives of io.jvhost.ethdev.EthPort that return its value objects (EthStats, built here from
 * a constructor cached at load); the port's primitive natives are in ethdev.c
 * (io.jvhost.internal.NativeEthdev).
 */
#include <rte_ethdev.h>

#include "jvhost.h"

#define ETH_PORT_CLASS "io/jvhost/ethdev/EthPort"

static jclass eth_stats_class;
static jmethodID eth_stats_ctor;

static jobject JNICALL
eth_port_jni_stats(JNIEnv *env, jclass clazz, jint port)
{
	struct rte_eth_stats s;

	if (rte_eth_stats_get((uint16_t)port, &s) != 0) {
		jvhost_throw(env, jvhost_illegal_state, "no stats for port %d", port);
		return NULL;
	}
	return (*env)->NewObject(env, eth_stats_class, eth_stats_ctor, (jlong)s.ipackets, (jlong)s.opackets,
		(jlong)s.ibytes, (jlong)s.obytes, (jlong)s.imissed, (jlong)s.ierrors, (jlong)s.oerrors,
		(jlong)s.rx_nombuf);
}

static const JNINativeMethod methods[] = {
	{ "nativeStats", "(I)Lio/jvhost/ethdev/EthStats;", (void *)eth_port_jni_stats },
};

int
jvhost_eth_port_register(JNIEnv *env)
{
	if (jvhost_record_class(env, "io/jvhost/ethdev/EthStats", "(JJJJJJJJ)V", &eth_stats_class,
			&eth_stats_ctor) != 0)
		return -1;
	return jvhost_register(env, ETH_PORT_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
