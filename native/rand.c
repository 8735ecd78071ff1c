/* SPDX-License-Identifier: Apache-2.0
 * DPDK's random generator (rte_srand, rte_rand and which per-lcore state a thread draws from),
 * for the Java IOTLB models, whose random eviction must follow DPDK's draw for draw.
 */
#include <rte_lcore.h>
#include <rte_random.h>

#include "jvhost.h"

#define RAND_CLASS "io/jvhost/internal/NativeRand"

static void JNICALL
rand_jni_srand(JNIEnv *env, jclass clazz, jlong seed)
{
	rte_srand((uint64_t)seed);
}

static jlong JNICALL
rand_jni_rand(JNIEnv *env, jclass clazz)
{
	return (jlong)rte_rand();
}

/* Which of rte_rand()'s per-lcore states the calling thread uses (__rte_rand_get_state). */
static jint JNICALL
rand_jni_rand_state_index(JNIEnv *env, jclass clazz)
{
	unsigned int lcore_id = rte_lcore_id();

	if (lcore_id == LCORE_ID_ANY)
		lcore_id = rte_get_main_lcore();
	return (jint)lcore_id;
}

static jint JNICALL
rand_jni_max_lcore(JNIEnv *env, jclass clazz)
{
	return RTE_MAX_LCORE;
}

static const JNINativeMethod methods[] = {
	{ "srand", "(J)V", (void *)rand_jni_srand },
	{ "rand", "()J", (void *)rand_jni_rand },
	{ "randStateIndex", "()I", (void *)rand_jni_rand_state_index },
	{ "maxLcore", "()I", (void *)rand_jni_max_lcore },
};

int
jvhost_rand_register(JNIEnv *env)
{
	return jvhost_register(env, RAND_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
