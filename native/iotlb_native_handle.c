/* SPDX-License-Identifier: Apache-2.0
 * Natives of io.jvhost.iotlb.NativeIotlbHandle that return its value objects: the IOTLB cache
 * and pending lists as IotlbEntry[] / PendingEntry[], and the queue's counters as IotlbCounters,
 * built from constructors cached at load. The lists are copied under DPDK's locks into a C
 * buffer first and turned into Java objects after the locks are released: nothing that can
 * block on the JVM (allocation, a safepoint) runs while DPDK's data path may spin on them.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_vhost.h>

#include "vhost.h"
#include "iotlb.h"

#include "iotlb_handle.h"
#include "jvhost.h"

#define NATIVE_IOTLB_HANDLE_CLASS "io/jvhost/iotlb/NativeIotlbHandle"

static jclass iotlb_entry_class;
static jmethodID iotlb_entry_ctor;
static jclass pending_entry_class;
static jmethodID pending_entry_ctor;
static jclass iotlb_counters_class;
static jmethodID iotlb_counters_ctor;
static jclass access_class;
static jmethodID access_of_wire;

/* A snapshot of list entries, filled under a lock where nothing may throw. */
struct iotlb_snapshot {
	struct iotlb_snapshot_entry {
		uint64_t iova, uaddr, size;
		uint8_t perm;
	} *v;
	size_t n, cap;
	bool failed; /* an allocation failed: reported once the lock is released */
};

static void
iotlb_snapshot_push(struct iotlb_snapshot *s, const struct iotlb_entry *node)
{
	if (s->failed)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct iotlb_snapshot_entry *grown = realloc(s->v, cap * sizeof(*grown));

		if (grown == NULL) {
			s->failed = true;
			return;
		}
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n].iova = node->iova;
	s->v[s->n].uaddr = node->uaddr;
	s->v[s->n].size = node->size;
	s->v[s->n].perm = node->perm;
	s->n++;
}

/* Turns the snapshot into an array of IotlbEntry (pending: PendingEntry) and frees it. */
static jobjectArray
iotlb_snapshot_finish(JNIEnv *env, struct iotlb_snapshot *s, bool pending)
{
	jclass clazz = pending ? pending_entry_class : iotlb_entry_class;
	jobjectArray result = NULL;
	size_t i;

	if (s->failed) {
		jvhost_throw(env, jvhost_out_of_memory, "IOTLB %s entries", pending ? "pending" : "cache");
		goto out;
	}
	result = (*env)->NewObjectArray(env, (jsize)s->n, clazz, NULL);
	for (i = 0; result != NULL && i < s->n; i++) {
		const struct iotlb_snapshot_entry *e = &s->v[i];
		jobject access, entry;

		access = (*env)->CallStaticObjectMethod(env, access_class, access_of_wire, (jint)e->perm);
		if (access == NULL) {
			result = NULL; /* ofWire's exception is pending */
			break;
		}
		if (pending)
			entry = (*env)->NewObject(env, clazz, pending_entry_ctor, (jlong)e->iova, access);
		else
			entry = (*env)->NewObject(env, clazz, iotlb_entry_ctor, (jlong)e->iova, (jlong)e->uaddr,
				(jlong)e->size, access);
		(*env)->DeleteLocalRef(env, access);
		if (entry == NULL) {
			result = NULL;
			break;
		}
		(*env)->SetObjectArrayElement(env, result, (jsize)i, entry);
		(*env)->DeleteLocalRef(env, entry);
	}
out:
	free(s->v);
	return result;
}

/* The cache entries, in DPDK's list order, read under the IOTLB read lock. */
static jobjectArray JNICALL
iotlb_native_handle_jni_cache_entries(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	struct iotlb_snapshot s = { 0 };

	vhost_user_iotlb_rd_lock(v);
	for (node = (void *)TAILQ_FIRST(&v->iotlb_list); node != NULL; node = TAILQ_NEXT(node, next))
		iotlb_snapshot_push(&s, node);
	vhost_user_iotlb_rd_unlock(v);
	return iotlb_snapshot_finish(env, &s, false);
}

/* The pending entries, in DPDK's list order, read under the pending lock. */
static jobjectArray JNICALL
iotlb_native_handle_jni_pending_entries(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	struct iotlb_snapshot s = { 0 };

	rte_rwlock_read_lock(&v->iotlb_pending_lock);
	for (node = (void *)TAILQ_FIRST(&v->iotlb_pending_list); node != NULL; node = TAILQ_NEXT(node, next))
		iotlb_snapshot_push(&s, node);
	rte_rwlock_read_unlock(&v->iotlb_pending_lock);
	return iotlb_snapshot_finish(env, &s, true);
}

/* iotlb_cache_nr, the free list's length, iotlb_hits and iotlb_misses, each under its lock. */
static jobject JNICALL
iotlb_native_handle_jni_counters(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	jint cached, free_nr = 0;

	rte_spinlock_lock(&v->iotlb_free_lock);
	for (node = (void *)SLIST_FIRST(&v->iotlb_free_list); node != NULL; node = SLIST_NEXT(node, next_free))
		free_nr++;
	rte_spinlock_unlock(&v->iotlb_free_lock);
	vhost_user_iotlb_rd_lock(v);
	cached = v->iotlb_cache_nr;
	vhost_user_iotlb_rd_unlock(v);
	return (*env)->NewObject(env, iotlb_counters_class, iotlb_counters_ctor, cached, free_nr,
		(jlong)v->stats.iotlb_hits, (jlong)v->stats.iotlb_misses);
}

static const JNINativeMethod methods[] = {
	{ "nativeCacheEntries", "(JI)[Lio/jvhost/iotlb/IotlbEntry;", (void *)iotlb_native_handle_jni_cache_entries },
	{ "nativePendingEntries", "(JI)[Lio/jvhost/iotlb/PendingEntry;",
		(void *)iotlb_native_handle_jni_pending_entries },
	{ "nativeCounters", "(JI)Lio/jvhost/iotlb/IotlbCounters;", (void *)iotlb_native_handle_jni_counters },
};

int
jvhost_iotlb_native_handle_register(JNIEnv *env)
{
	if (jvhost_record_class(env, "io/jvhost/iotlb/IotlbEntry", "(JJJLio/jvhost/protocol/Access;)V",
			&iotlb_entry_class, &iotlb_entry_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/iotlb/PendingEntry", "(JLio/jvhost/protocol/Access;)V",
			&pending_entry_class, &pending_entry_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/iotlb/IotlbCounters", "(IIJJ)V", &iotlb_counters_class,
			&iotlb_counters_ctor) != 0)
		return -1;
	access_class = jvhost_global_class(env, "io/jvhost/protocol/Access");
	if (access_class == NULL)
		return -1;
	access_of_wire = (*env)->GetStaticMethodID(env, access_class, "ofWire", "(I)Lio/jvhost/protocol/Access;");
	if (access_of_wire == NULL)
		return -1;
	return jvhost_register(env, NATIVE_IOTLB_HANDLE_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
