/* SPDX-License-Identifier: Apache-2.0
 * Natives of io.jvhost.iotlb.NativeVhostDevice that return its value objects: DPDK's memory
 * table of the message-taking device (iotlb_device.c) as MemoryRegion[], built from the
 * constructor cached at load.
 */
#include <rte_vhost.h>

#include "vhost.h"

#include "iotlb_handle.h"
#include "jvhost.h"

#define NATIVE_VHOST_DEVICE_CLASS "io/jvhost/iotlb/NativeVhostDevice"

static jclass memory_region_class;
static jmethodID memory_region_ctor;

/* dev->mem as DPDK mapped it; empty before SET_MEM_TABLE. The caller holds the handle. */
static jobjectArray JNICALL
iotlb_native_vhost_device_jni_mem_table(JNIEnv *env, jclass clazz, jlong handle)
{
	struct virtio_net *dev = handle_of(handle)->dev;
	uint32_t i, n = dev != NULL && dev->mem != NULL ? dev->mem->nregions : 0;
	jobjectArray result;

	result = (*env)->NewObjectArray(env, (jsize)n, memory_region_class, NULL);
	for (i = 0; result != NULL && i < n; i++) {
		const struct rte_vhost_mem_region *r = &dev->mem->regions[i];
		jobject region = (*env)->NewObject(env, memory_region_class, memory_region_ctor,
			(jlong)r->guest_phys_addr, (jlong)r->guest_user_addr, (jlong)r->host_user_addr,
			(jlong)r->size, (jlong)r->mmap_size);

		if (region == NULL)
			return NULL; /* the constructor's exception is pending */
		(*env)->SetObjectArrayElement(env, result, (jsize)i, region);
		(*env)->DeleteLocalRef(env, region);
	}
	return result;
}

static const JNINativeMethod methods[] = {
	{ "nativeMemTable", "(J)[Lio/jvhost/protocol/MemoryRegion;", (void *)iotlb_native_vhost_device_jni_mem_table },
};

int
jvhost_iotlb_native_vhost_device_register(JNIEnv *env)
{
	if (jvhost_record_class(env, "io/jvhost/protocol/MemoryRegion", "(JJJJJ)V", &memory_region_class,
			&memory_region_ctor) != 0)
		return -1;
	return jvhost_register(env, NATIVE_VHOST_DEVICE_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
