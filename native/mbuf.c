/* SPDX-License-Identifier: Apache-2.0
 * Mbuf pools and bursts of mbuf pointers. Java reads and writes mbuf fields directly at the
 * offsets given by mbufLayout(), so no JNI call is made per packet.
 */
#include <errno.h>
#include <stddef.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "jvhost.h"

#define MBUF_CLASS "io/jvhost/internal/NativeMbuf"

static jclass layout_class;
static jmethodID layout_ctor;

/* Returns the pool, or -errno (rte_errno): user-space pointers are positive as jlong. */
static jlong JNICALL
mbuf_jni_pool_create(JNIEnv *env, jclass clazz, jstring jname, jint n, jint cache, jint data_room,
		jint socket)
{
	const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
	struct rte_mempool *mp;
	jlong ret;

	if (name == NULL)
		return -ENOMEM; /* OutOfMemoryError pending */
	rte_errno = 0;
	mp = rte_pktmbuf_pool_create(name, (unsigned int)n, (unsigned int)cache, 0,
		(uint16_t)data_room, socket);
	ret = mp != NULL ? (jlong)(uintptr_t)mp : -(jlong)(rte_errno > 0 ? rte_errno : ENOMEM);
	(*env)->ReleaseStringUTFChars(env, jname, name);
	return ret;
}

static void JNICALL
mbuf_jni_pool_free(JNIEnv *env, jclass clazz, jlong pool)
{
	rte_mempool_free((struct rte_mempool *)(uintptr_t)pool);
}

static jint JNICALL
mbuf_jni_pool_available(JNIEnv *env, jclass clazz, jlong pool)
{
	return (jint)rte_mempool_avail_count((struct rte_mempool *)(uintptr_t)pool);
}

static jint JNICALL
mbuf_jni_pool_in_use(JNIEnv *env, jclass clazz, jlong pool)
{
	return (jint)rte_mempool_in_use_count((struct rte_mempool *)(uintptr_t)pool);
}

static jint JNICALL
mbuf_jni_alloc_bulk(JNIEnv *env, jclass clazz, jlong pool, jlong pkts, jint offset, jint n)
{
	return rte_pktmbuf_alloc_bulk((struct rte_mempool *)(uintptr_t)pool,
		(struct rte_mbuf **)(uintptr_t)pkts + offset, (unsigned int)n);
}

/*
 * A traffic generator's burst in one call: n fresh single-segment mbufs, each holding the first
 * copy bytes of the template and length bytes in all (the rest is whatever the buffer held, as
 * in testpmd's txonly). The caller has checked length against the pool's data room.
 */
static jint JNICALL
mbuf_jni_alloc_filled(JNIEnv *env, jclass clazz, jlong pool, jlong pkts, jint offset, jint n,
		jlong template, jint copy, jint length)
{
	struct rte_mbuf **m = (struct rte_mbuf **)(uintptr_t)pkts + offset;
	const void *src = (const void *)(uintptr_t)template;
	int i;

	if (rte_pktmbuf_alloc_bulk((struct rte_mempool *)(uintptr_t)pool, m, (unsigned int)n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		rte_memcpy(rte_pktmbuf_mtod(m[i], void *), src, (size_t)copy);
		m[i]->data_len = (uint16_t)length;
		m[i]->pkt_len = (uint32_t)length;
	}
	return 0;
}

static void JNICALL
mbuf_jni_free_bulk(JNIEnv *env, jclass clazz, jlong pkts, jint offset, jint n)
{
	rte_pktmbuf_free_bulk((struct rte_mbuf **)(uintptr_t)pkts + offset, (unsigned int)n);
}

/* Appends a fresh segment from pool to the chain at m; returns the segment's address or 0. */
static jlong JNICALL
mbuf_jni_append_segment(JNIEnv *env, jclass clazz, jlong pool, jlong m)
{
	struct rte_mbuf *head = (struct rte_mbuf *)(uintptr_t)m;
	struct rte_mbuf *seg = rte_pktmbuf_alloc((struct rte_mempool *)(uintptr_t)pool);

	if (seg == NULL)
		return 0;
	if (rte_pktmbuf_chain(head, seg) != 0) {
		rte_pktmbuf_free(seg);
		return 0;
	}
	return (jlong)(uintptr_t)seg;
}

static jobject JNICALL
mbuf_jni_mbuf_layout(JNIEnv *env, jclass clazz)
{
	return (*env)->NewObject(env, layout_class, layout_ctor, (jint)offsetof(struct rte_mbuf, buf_addr),
		(jint)offsetof(struct rte_mbuf, data_off), (jint)offsetof(struct rte_mbuf, nb_segs),
		(jint)offsetof(struct rte_mbuf, pkt_len), (jint)offsetof(struct rte_mbuf, data_len),
		(jint)offsetof(struct rte_mbuf, buf_len), (jint)offsetof(struct rte_mbuf, next),
		(jint)offsetof(struct rte_mbuf, pool), (jint)sizeof(struct rte_mbuf), (jint)RTE_PKTMBUF_HEADROOM);
}

static const JNINativeMethod methods[] = {
	{ "poolCreate", "(Ljava/lang/String;IIII)J", (void *)mbuf_jni_pool_create },
	{ "poolFree", "(J)V", (void *)mbuf_jni_pool_free },
	{ "poolAvailable", "(J)I", (void *)mbuf_jni_pool_available },
	{ "poolInUse", "(J)I", (void *)mbuf_jni_pool_in_use },
	{ "allocBulk", "(JJII)I", (void *)mbuf_jni_alloc_bulk },
	{ "allocFilled", "(JJIIJII)I", (void *)mbuf_jni_alloc_filled },
	{ "freeBulk", "(JII)V", (void *)mbuf_jni_free_bulk },
	{ "appendSegment", "(JJ)J", (void *)mbuf_jni_append_segment },
	{ "mbufLayout", "()Lio/jvhost/internal/MbufLayout$Offsets;", (void *)mbuf_jni_mbuf_layout },
};

int
jvhost_mbuf_register(JNIEnv *env)
{
	if (jvhost_record_class(env, "io/jvhost/internal/MbufLayout$Offsets", "(IIIIIIIIII)V", &layout_class,
			&layout_ctor) != 0)
		return -1;
	return jvhost_register(env, MBUF_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
