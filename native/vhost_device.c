/* SPDX-License-Identifier: Apache-2.0
 * Natives of io.jvhost.vhost.VhostDevice: the live device's view (features, memory table, vrings,
 * statistics) and address translation through its own virtqueues. Each returns a Java value
 * object built here from a constructor cached at load (DeviceInfo, MemoryRegion[], VringInfo,
 * VringStatistics, Translation), so no result travels as positional slots. They live beside the
 * types they build because io.jvhost.internal never depends on a public package.
 *
 * Lifetime rule (as in vhost.c): Java calls these only while the device is alive, under its
 * view lock, so a vid is never used after DPDK freed or reused it.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include <rte_vhost.h>

#include "jvhost.h"
#include "iotlb.h"
#include "vhost.h"

#define VHOST_DEVICE_CLASS "io/jvhost/vhost/VhostDevice"

static jclass device_info_class;
static jmethodID device_info_ctor;
static jclass memory_region_class;
static jmethodID memory_region_ctor;
static jclass vring_info_class;
static jmethodID vring_info_ctor;
static jclass vring_statistics_class;
static jmethodID vring_statistics_ctor;
static jclass translation_class;
static jmethodID translation_ctor;
static jclass string_class;

static jobject JNICALL
vhost_device_jni_device_info(JNIEnv *env, jclass clazz, jint vid)
{
	uint64_t features = 0, protocol = 0;
	uint16_t mtu = 0;
	jint mtu_or_none;

	if (rte_vhost_get_negotiated_features(vid, &features) != 0) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d not found", vid);
		return NULL;
	}
	rte_vhost_get_negotiated_protocol_features(vid, &protocol);
	mtu_or_none = rte_vhost_get_mtu(vid, &mtu) == 0 ? mtu : -1;
	return (*env)->NewObject(env, device_info_class, device_info_ctor, (jlong)features, (jlong)protocol,
		(jint)rte_vhost_get_vring_num(vid), (jint)rte_vhost_get_numa_node(vid), mtu_or_none);
}

static jobjectArray JNICALL
vhost_device_jni_memory_regions(JNIEnv *env, jclass clazz, jint vid)
{
	struct rte_vhost_memory *mem = NULL;
	jobjectArray result;
	uint32_t i;

	if (rte_vhost_get_mem_table(vid, &mem) != 0) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return NULL;
	}
	result = (*env)->NewObjectArray(env, (jsize)mem->nregions, memory_region_class, NULL);
	for (i = 0; result != NULL && i < mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		jobject region = (*env)->NewObject(env, memory_region_class, memory_region_ctor,
			(jlong)r->guest_phys_addr, (jlong)r->guest_user_addr, (jlong)r->host_user_addr,
			(jlong)r->size, (jlong)r->mmap_size);

		if (region == NULL) {
			result = NULL; /* the constructor's exception is pending */
			break;
		}
		(*env)->SetObjectArrayElement(env, result, (jsize)i, region);
		(*env)->DeleteLocalRef(env, region);
	}
	free(mem);
	return result;
}

static jobject JNICALL
vhost_device_jni_vring_info(JNIEnv *env, jclass clazz, jint vid, jint qid)
{
	struct rte_vhost_vring vring;
	uint16_t last_avail = 0, last_used = 0;

	if (rte_vhost_get_vhost_vring(vid, (uint16_t)qid, &vring) != 0) {
		jvhost_throw(env, jvhost_illegal_argument, "vhost device %d has no vring %d", vid, qid);
		return NULL;
	}
	rte_vhost_get_vring_base(vid, (uint16_t)qid, &last_avail, &last_used);
	return (*env)->NewObject(env, vring_info_class, vring_info_ctor, (jlong)(uintptr_t)vring.desc,
		(jlong)(uintptr_t)vring.avail, (jlong)(uintptr_t)vring.used, (jlong)vring.log_guest_addr,
		(jint)vring.size, (jint)vring.kickfd, (jint)vring.callfd, (jint)last_avail, (jint)last_used);
}

/* DPDK's names and values, in its order; NULL when the port keeps no statistics. */
static jobject JNICALL
vhost_device_jni_vring_statistics(JNIEnv *env, jclass clazz, jint vid, jint qid)
{
	struct rte_vhost_stat_name *names = NULL;
	struct rte_vhost_stat *stats = NULL;
	jobjectArray jnames = NULL;
	jlongArray jvalues = NULL;
	jobject result = NULL;
	int n, i;

	n = rte_vhost_vring_stats_get_names(vid, (uint16_t)qid, NULL, 0);
	if (n <= 0)
		return NULL;
	names = calloc((size_t)n, sizeof(*names));
	stats = calloc((size_t)n, sizeof(*stats));
	if (names == NULL || stats == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "vring stats");
		goto out;
	}
	if (rte_vhost_vring_stats_get_names(vid, (uint16_t)qid, names, (unsigned int)n) != n ||
	    rte_vhost_vring_stats_get(vid, (uint16_t)qid, stats, (unsigned int)n) != n) {
		/* DPDK 22.11 refuses while the vring's rings are not translated (access_ok false) */
		jvhost_throw(env, jvhost_illegal_state, "vring %d stats of device %d unavailable: its rings are not "
			"translated now (e.g. after an IOTLB INVALIDATE, until the data path translates them again)",
			qid, vid);
		goto out;
	}
	jnames = (*env)->NewObjectArray(env, n, string_class, NULL);
	jvalues = (*env)->NewLongArray(env, n);
	if (jnames == NULL || jvalues == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		jstring s = (*env)->NewStringUTF(env, names[stats[i].id < (uint64_t)n ? stats[i].id : (uint64_t)i].name);
		jlong v = (jlong)stats[i].value;

		if (s == NULL)
			goto out;
		(*env)->SetObjectArrayElement(env, jnames, i, s);
		(*env)->DeleteLocalRef(env, s);
		(*env)->SetLongArrayRegion(env, jvalues, i, 1, &v);
	}
	result = (*env)->NewObject(env, vring_statistics_class, vring_statistics_ctor, jnames, jvalues);
out:
	free(names);
	free(stats);
	return result;
}

static jobject
vhost_device_translation(JNIEnv *env, uint64_t vva, uint64_t size)
{
	/* a miss maps nothing, whatever DPDK left in size */
	return (*env)->NewObject(env, translation_class, translation_ctor, (jlong)vva, vva != 0 ? (jlong)size : 0);
}

static jobject JNICALL
vhost_device_jni_gpa_to_vva(JNIEnv *env, jclass clazz, jint vid, jlong gpa, jlong len)
{
	struct virtio_net *dev = get_device(vid);
	struct vhost_virtqueue *vq;
	uint64_t size = (uint64_t)len, vva;

	if (dev == NULL || dev->mem == NULL || dev->nr_vring == 0 || (vq = dev->virtqueue[0]) == NULL) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return NULL;
	}
	/* SET_MEM_TABLE replaces dev->mem with every queue's access lock held. */
	rte_spinlock_lock(&vq->access_lock);
	vva = rte_vhost_va_from_guest_pa(dev->mem, (uint64_t)gpa, &size);
	rte_spinlock_unlock(&vq->access_lock);
	return vhost_device_translation(env, vva, size);
}

/*
 * vhost_iova_to_vva() on the device's own virtqueue, locked as DPDK's data path locks it: the
 * IOTLB path (and a MISS request to the frontend) when VIRTIO_F_IOMMU_PLATFORM was negotiated,
 * the guest-physical path otherwise.
 */
static jobject JNICALL
vhost_device_jni_iova_to_vva(JNIEnv *env, jclass clazz, jint vid, jint qid, jlong iova, jlong len, jint perm)
{
	struct virtio_net *dev = get_device(vid);
	struct vhost_virtqueue *vq;
	uint64_t size = (uint64_t)len, vva;
	bool iommu;

	if (dev == NULL || dev->mem == NULL) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return NULL;
	}
	if (qid < 0 || (uint32_t)qid >= dev->nr_vring || (vq = dev->virtqueue[qid]) == NULL) {
		jvhost_throw(env, jvhost_illegal_argument, "vhost device %d has no vring %d", vid, qid);
		return NULL;
	}
	iommu = (dev->features & (1ULL << VIRTIO_F_IOMMU_PLATFORM)) != 0;
	rte_spinlock_lock(&vq->access_lock);
	if (iommu)
		vhost_user_iotlb_rd_lock(vq);
	vva = vhost_iova_to_vva(dev, vq, (uint64_t)iova, &size, (uint8_t)perm);
	if (iommu)
		vhost_user_iotlb_rd_unlock(vq);
	rte_spinlock_unlock(&vq->access_lock);
	return vhost_device_translation(env, vva, size);
}

static const JNINativeMethod methods[] = {
	{ "nativeDeviceInfo", "(I)Lio/jvhost/vhost/DeviceInfo;", (void *)vhost_device_jni_device_info },
	{ "nativeMemoryRegions", "(I)[Lio/jvhost/protocol/MemoryRegion;", (void *)vhost_device_jni_memory_regions },
	{ "nativeVringInfo", "(II)Lio/jvhost/vhost/VringInfo;", (void *)vhost_device_jni_vring_info },
	{ "nativeVringStatistics", "(II)Lio/jvhost/vhost/VringStatistics;",
		(void *)vhost_device_jni_vring_statistics },
	{ "nativeGpaToVva", "(IJJ)Lio/jvhost/vhost/Translation;", (void *)vhost_device_jni_gpa_to_vva },
	{ "nativeIovaToVva", "(IIJJI)Lio/jvhost/vhost/Translation;", (void *)vhost_device_jni_iova_to_vva },
};

int
jvhost_vhost_device_register(JNIEnv *env)
{
	if (jvhost_record_class(env, "io/jvhost/vhost/DeviceInfo", "(JJIII)V", &device_info_class,
			&device_info_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/protocol/MemoryRegion", "(JJJJJ)V", &memory_region_class,
			&memory_region_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/vhost/VringInfo", "(JJJJIIIII)V", &vring_info_class,
			&vring_info_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/vhost/VringStatistics", "([Ljava/lang/String;[J)V",
			&vring_statistics_class, &vring_statistics_ctor) != 0 ||
	    jvhost_record_class(env, "io/jvhost/vhost/Translation", "(JJ)V", &translation_class,
			&translation_ctor) != 0)
		return -1;
	string_class = jvhost_global_class(env, "java/lang/String");
	if (string_class == NULL)
		return -1;
	return jvhost_register(env, VHOST_DEVICE_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
