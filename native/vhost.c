/* SPDX-License-Identifier: Apache-2.0
 * vhost-user ports: librte_vhost's driver API, device callbacks into Java, the live device view,
 * address translation through the device's own virtqueues, and the burst data path.
 *
 * Lifetime rule: Java calls anything that takes a vid only while it knows the device is alive
 * (between new_device and destroy_device, guarded per device on the Java side), so a vid is never
 * used after DPDK freed or reused it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "jvhost.h"
#include "iotlb.h"
#include "vhost.h"

#define VHOST_CLASS "io/jvhost/internal/NativeVhost"

static jclass vhost_class;
static jmethodID on_new_device;
static jmethodID on_destroy_device;
static jmethodID on_vring_state_changed;
static jmethodID on_features_changed;

/* --- callbacks: run on DPDK's vhost-events thread, or on the thread unregistering a port ---- */

static jint
upcall_int(jmethodID method, int vid, jint a, jlong b, jint if_no_jvm)
{
	JNIEnv *env = jvhost_env_for_upcall();
	jthrowable pending;
	jint rc;

	if (env == NULL)
		return if_no_jvm;
	pending = (*env)->ExceptionOccurred(env);
	if (pending != NULL)
		(*env)->ExceptionClear(env);
	rc = (*env)->CallStaticIntMethod(env, vhost_class, method, (jint)vid, a, b);
	/* Listener failures are logged in Java; what escapes the dispatcher is logged here. */
	if (jvhost_upcall_failed(env, "a vhost device callback"))
		rc = if_no_jvm;
	if (pending != NULL) {
		(*env)->Throw(env, pending);
		(*env)->DeleteLocalRef(env, pending);
	}
	return rc;
}

static int
cb_new_device(int vid)
{
	/* No JVM to track the device: refuse it rather than run it unseen. */
	return upcall_int(on_new_device, vid, 0, 0, -1);
}

static void
cb_destroy_device(int vid)
{
	upcall_int(on_destroy_device, vid, 0, 0, 0);
}

static int
cb_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	return upcall_int(on_vring_state_changed, vid, queue_id, enable, 0);
}

static int
cb_features_changed(int vid, uint64_t features)
{
	return upcall_int(on_features_changed, vid, 0, (jlong)features, 0);
}

static const struct rte_vhost_device_ops device_ops = {
	.new_device = cb_new_device,
	.destroy_device = cb_destroy_device,
	.vring_state_changed = cb_vring_state_changed,
	.features_changed = cb_features_changed,
};

/* --- driver ---------------------------------------------------------------------------------- */

/* Runs fn(path, ...) with the path as a C string; returns its result or -ENOMEM. */
#define WITH_PATH(env, jpath, call)						\
	({									\
		const char *path = (*env)->GetStringUTFChars(env, jpath, NULL);	\
		int rc_ = -ENOMEM;						\
		if (path != NULL) {						\
			rc_ = (call);						\
			(*env)->ReleaseStringUTFChars(env, jpath, path);	\
		}								\
		rc_;								\
	})

static jint JNICALL
vhost_jni_driver_register(JNIEnv *env, jclass clazz, jstring jpath, jlong flags)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_register(path, (uint64_t)flags));
}

static jint JNICALL
vhost_jni_driver_unregister(JNIEnv *env, jclass clazz, jstring jpath)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_unregister(path));
}

static jint JNICALL
vhost_jni_callback_register(JNIEnv *env, jclass clazz, jstring jpath)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_callback_register(path, &device_ops));
}

static jint JNICALL
vhost_jni_driver_start(JNIEnv *env, jclass clazz, jstring jpath)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_start(path));
}

/* op: 0 set, 1 enable, 2 disable, 3 set protocol */
static jint JNICALL
vhost_jni_driver_features(JNIEnv *env, jclass clazz, jstring jpath, jint op, jlong features)
{
	uint64_t f = (uint64_t)features;

	switch (op) {
	case 0: return WITH_PATH(env, jpath, rte_vhost_driver_set_features(path, f));
	case 1: return WITH_PATH(env, jpath, rte_vhost_driver_enable_features(path, f));
	case 2: return WITH_PATH(env, jpath, rte_vhost_driver_disable_features(path, f));
	case 3: return WITH_PATH(env, jpath, rte_vhost_driver_set_protocol_features(path, f));
	default: return -EINVAL;
	}
}

/* which: 0 features, 1 protocol features; -1 on error (features are never all ones). */
static jlong JNICALL
vhost_jni_driver_get_features(JNIEnv *env, jclass clazz, jstring jpath, jint which)
{
	uint64_t f = 0;
	int rc;

	if (which == 0)
		rc = WITH_PATH(env, jpath, rte_vhost_driver_get_features(path, &f));
	else
		rc = WITH_PATH(env, jpath, rte_vhost_driver_get_protocol_features(path, &f));
	return rc == 0 ? (jlong)f : -1;
}

/* --- device view ----------------------------------------------------------------------------- */

static jstring JNICALL
vhost_jni_get_ifname(JNIEnv *env, jclass clazz, jint vid)
{
	char buf[PATH_MAX];

	if (rte_vhost_get_ifname(vid, buf, sizeof(buf)) != 0)
		return NULL;
	return (*env)->NewStringUTF(env, buf);
}

/* [features, protocol features, vring count, numa node, mtu (-1: none)] */
static jlongArray JNICALL
vhost_jni_device_info(JNIEnv *env, jclass clazz, jint vid)
{
	jlong info[5];
	uint64_t features = 0, protocol = 0;
	uint16_t mtu = 0;
	jlongArray result;

	if (rte_vhost_get_negotiated_features(vid, &features) != 0) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d not found", vid);
		return NULL;
	}
	rte_vhost_get_negotiated_protocol_features(vid, &protocol);
	info[0] = (jlong)features;
	info[1] = (jlong)protocol;
	info[2] = rte_vhost_get_vring_num(vid);
	info[3] = rte_vhost_get_numa_node(vid);
	info[4] = rte_vhost_get_mtu(vid, &mtu) == 0 ? mtu : -1;
	result = (*env)->NewLongArray(env, 5);
	if (result != NULL)
		(*env)->SetLongArrayRegion(env, result, 0, 5, info);
	return result;
}

/* 5 longs a region: guest physical, guest (frontend) user, host (backend) user, size, mmap size */
static jlongArray JNICALL
vhost_jni_mem_table(JNIEnv *env, jclass clazz, jint vid)
{
	struct rte_vhost_memory *mem = NULL;
	jlongArray result;
	uint32_t i;

	if (rte_vhost_get_mem_table(vid, &mem) != 0) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return NULL;
	}
	result = (*env)->NewLongArray(env, (jsize)(mem->nregions * 5));
	for (i = 0; result != NULL && i < mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		jlong v[5] = { (jlong)r->guest_phys_addr, (jlong)r->guest_user_addr,
			(jlong)r->host_user_addr, (jlong)r->size, (jlong)r->mmap_size };

		(*env)->SetLongArrayRegion(env, result, (jsize)(i * 5), 5, v);
	}
	free(mem);
	return result;
}

/* [desc, avail, used, log guest addr, size, kickfd, callfd, last avail idx, last used idx] */
static jlongArray JNICALL
vhost_jni_vring_info(JNIEnv *env, jclass clazz, jint vid, jint qid)
{
	struct rte_vhost_vring vring;
	uint16_t last_avail = 0, last_used = 0;
	jlongArray result;

	if (rte_vhost_get_vhost_vring(vid, (uint16_t)qid, &vring) != 0) {
		jvhost_throw(env, jvhost_illegal_argument, "vhost device %d has no vring %d", vid, qid);
		return NULL;
	}
	rte_vhost_get_vring_base(vid, (uint16_t)qid, &last_avail, &last_used);
	{
		jlong v[9] = { (jlong)(uintptr_t)vring.desc, (jlong)(uintptr_t)vring.avail,
			(jlong)(uintptr_t)vring.used, (jlong)vring.log_guest_addr, vring.size,
			vring.kickfd, vring.callfd, last_avail, last_used };

		result = (*env)->NewLongArray(env, 9);
		if (result != NULL)
			(*env)->SetLongArrayRegion(env, result, 0, 9, v);
	}
	return result;
}

/* Names and values interleaved: Object[]{String[] names, long[] values}; null when stats are off. */
static jobjectArray JNICALL
vhost_jni_vring_stats(JNIEnv *env, jclass clazz, jint vid, jint qid)
{
	struct rte_vhost_stat_name *names = NULL;
	struct rte_vhost_stat *stats = NULL;
	jobjectArray result = NULL, jnames = NULL;
	jlongArray jvalues = NULL;
	jclass string_class;
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
	string_class = (*env)->FindClass(env, "java/lang/String");
	if (string_class == NULL)
		goto out;
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
	result = (*env)->NewObjectArray(env, 2, (*env)->FindClass(env, "java/lang/Object"), NULL);
	if (result != NULL) {
		(*env)->SetObjectArrayElement(env, result, 0, jnames);
		(*env)->SetObjectArrayElement(env, result, 1, jvalues);
	}
out:
	free(names);
	free(stats);
	return result;
}

static jint JNICALL
vhost_jni_vring_stats_reset(JNIEnv *env, jclass clazz, jint vid, jint qid)
{
	return rte_vhost_vring_stats_reset(vid, (uint16_t)qid);
}

/*
 * A polling backend asks the frontend not to kick on every burst (VRING_USED_F_NO_NOTIFY), as
 * DPDK's net_vhost does in its new_device; DPDK keeps the choice and re-applies it when the vring
 * is enabled again.
 */
static jint JNICALL
vhost_jni_enable_guest_notification(JNIEnv *env, jclass clazz, jint vid, jint qid, jboolean enable)
{
	return rte_vhost_enable_guest_notification(vid, (uint16_t)qid, enable ? 1 : 0);
}

/* --- address translation --------------------------------------------------------------------- */

/* Returns the VVA and stores the mapped length in out[0]; 0 with out[0] = 0 on a miss. */
static jlong JNICALL
vhost_jni_gpa_to_vva(JNIEnv *env, jclass clazz, jint vid, jlong gpa, jlong len, jlongArray out)
{
	struct virtio_net *dev = get_device(vid);
	struct vhost_virtqueue *vq;
	uint64_t size = (uint64_t)len, vva;
	jlong mapped;

	if (dev == NULL || dev->mem == NULL || dev->nr_vring == 0 || (vq = dev->virtqueue[0]) == NULL) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return 0;
	}
	/* SET_MEM_TABLE replaces dev->mem with every queue's access lock held. */
	rte_spinlock_lock(&vq->access_lock);
	vva = rte_vhost_va_from_guest_pa(dev->mem, (uint64_t)gpa, &size);
	rte_spinlock_unlock(&vq->access_lock);
	mapped = vva != 0 ? (jlong)size : 0;
	(*env)->SetLongArrayRegion(env, out, 0, 1, &mapped);
	return (jlong)vva;
}

/*
 * vhost_iova_to_vva() on the device's own virtqueue, locked as DPDK's data path locks it: the
 * IOTLB path (and a MISS request to the frontend) when VIRTIO_F_IOMMU_PLATFORM was negotiated,
 * the guest-physical path otherwise.
 */
static jlong JNICALL
vhost_jni_iova_to_vva(JNIEnv *env, jclass clazz, jint vid, jint qid, jlong iova, jlong len, jint perm,
		jlongArray out)
{
	struct virtio_net *dev = get_device(vid);
	struct vhost_virtqueue *vq;
	uint64_t size = (uint64_t)len, vva;
	bool iommu;
	jlong mapped;

	if (dev == NULL || dev->mem == NULL) {
		jvhost_throw(env, jvhost_illegal_state, "vhost device %d has no memory table", vid);
		return 0;
	}
	if (qid < 0 || (uint32_t)qid >= dev->nr_vring || (vq = dev->virtqueue[qid]) == NULL) {
		jvhost_throw(env, jvhost_illegal_argument, "vhost device %d has no vring %d", vid, qid);
		return 0;
	}
	iommu = (dev->features & (1ULL << VIRTIO_F_IOMMU_PLATFORM)) != 0;
	rte_spinlock_lock(&vq->access_lock);
	if (iommu)
		vhost_user_iotlb_rd_lock(vq);
	vva = vhost_iova_to_vva(dev, vq, (uint64_t)iova, &size, (uint8_t)perm);
	if (iommu)
		vhost_user_iotlb_rd_unlock(vq);
	rte_spinlock_unlock(&vq->access_lock);
	mapped = vva != 0 ? (jlong)size : 0;
	(*env)->SetLongArrayRegion(env, out, 0, 1, &mapped);
	return (jlong)vva;
}

/*
 * Copies len bytes at backend address vva into dst[off..], only if they lie inside one region
 * of the device's memory table. Returns 0, or -EFAULT when they do not.
 */
static jint JNICALL
vhost_jni_read_memory(JNIEnv *env, jclass clazz, jint vid, jlong vva, jbyteArray dst, jint off, jint len)
{
	struct virtio_net *dev = get_device(vid);
	struct vhost_virtqueue *vq;
	uint64_t start = (uint64_t)vva, end = start + (uint64_t)len;
	int rc = -EFAULT;
	uint32_t i;

	if (dev == NULL || dev->mem == NULL || dev->nr_vring == 0 || (vq = dev->virtqueue[0]) == NULL)
		return -ENODEV;
	if (end < start)
		return -EFAULT;
	rte_spinlock_lock(&vq->access_lock);
	for (i = 0; i < dev->mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &dev->mem->regions[i];

		if (start >= r->host_user_addr && end <= r->host_user_addr + r->size) {
			(*env)->SetByteArrayRegion(env, dst, off, len, (const jbyte *)(uintptr_t)start);
			rc = 0;
			break;
		}
	}
	rte_spinlock_unlock(&vq->access_lock);
	return rc;
}

/* --- data path: one call per burst ----------------------------------------------------------- */

/*
 * Enqueues count packets of the pointer array at pkts to the guest's vring qid. DPDK copies
 * what it takes; those mbufs are freed here and the rest moved to the front of the array, so
 * they stay with the caller. Returns how many were taken.
 */
static jint JNICALL
vhost_jni_enqueue(JNIEnv *env, jclass clazz, jint vid, jint qid, jlong pkts_addr, jint count)
{
	struct rte_mbuf **pkts = (struct rte_mbuf **)(uintptr_t)pkts_addr;
	uint16_t taken;

	taken = rte_vhost_enqueue_burst(vid, (uint16_t)qid, pkts, (uint16_t)count);
	if (taken > 0) {
		rte_pktmbuf_free_bulk(pkts, taken);
		if (taken < count)
			memmove(pkts, pkts + taken, (size_t)(count - taken) * sizeof(*pkts));
	}
	return taken;
}

/* Dequeues up to max packets from vring qid into pkts[offset..]; returns how many. */
static jint JNICALL
vhost_jni_dequeue(JNIEnv *env, jclass clazz, jint vid, jint qid, jlong pool_addr, jlong pkts_addr,
		jint offset, jint max)
{
	struct rte_mbuf **pkts = (struct rte_mbuf **)(uintptr_t)pkts_addr;

	return rte_vhost_dequeue_burst(vid, (uint16_t)qid, (struct rte_mempool *)(uintptr_t)pool_addr,
		pkts + offset, (uint16_t)max);
}

static const JNINativeMethod methods[] = {
	{ "driverRegister", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_register },
	{ "driverUnregister", "(Ljava/lang/String;)I", (void *)vhost_jni_driver_unregister },
	{ "callbackRegister", "(Ljava/lang/String;)I", (void *)vhost_jni_callback_register },
	{ "driverStart", "(Ljava/lang/String;)I", (void *)vhost_jni_driver_start },
	{ "driverFeatures", "(Ljava/lang/String;IJ)I", (void *)vhost_jni_driver_features },
	{ "driverGetFeatures", "(Ljava/lang/String;I)J", (void *)vhost_jni_driver_get_features },
	{ "getIfname", "(I)Ljava/lang/String;", (void *)vhost_jni_get_ifname },
	{ "deviceInfo", "(I)[J", (void *)vhost_jni_device_info },
	{ "memTable", "(I)[J", (void *)vhost_jni_mem_table },
	{ "vringInfo", "(II)[J", (void *)vhost_jni_vring_info },
	{ "vringStats", "(II)[Ljava/lang/Object;", (void *)vhost_jni_vring_stats },
	{ "vringStatsReset", "(II)I", (void *)vhost_jni_vring_stats_reset },
	{ "enableGuestNotification", "(IIZ)I", (void *)vhost_jni_enable_guest_notification },
	{ "gpaToVva", "(IJJ[J)J", (void *)vhost_jni_gpa_to_vva },
	{ "iovaToVva", "(IIJJI[J)J", (void *)vhost_jni_iova_to_vva },
	{ "readMemory", "(IJ[BII)I", (void *)vhost_jni_read_memory },
	{ "enqueue", "(IIJI)I", (void *)vhost_jni_enqueue },
	{ "dequeue", "(IIJJII)I", (void *)vhost_jni_dequeue },
};

int
jvhost_vhost_register(JNIEnv *env)
{
	vhost_class = jvhost_global_class(env, VHOST_CLASS);
	if (vhost_class == NULL)
		return -1;
	on_new_device = (*env)->GetStaticMethodID(env, vhost_class, "onNewDevice", "(IIJ)I");
	on_destroy_device = (*env)->GetStaticMethodID(env, vhost_class, "onDestroyDevice", "(IIJ)I");
	on_vring_state_changed = (*env)->GetStaticMethodID(env, vhost_class, "onVringStateChanged", "(IIJ)I");
	on_features_changed = (*env)->GetStaticMethodID(env, vhost_class, "onFeaturesChanged", "(IIJ)I");
	if (!on_new_device || !on_destroy_device || !on_vring_state_changed || !on_features_changed)
		return -1;
	return jvhost_register(env, VHOST_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}

/*
 * Dirty-page logging for live migration: writes to guest memory that did not go through
 * rte_vhost_enqueue_burst/dequeue_burst (which log on their own). DPDK ignores both calls unless
 * the frontend set VHOST_F_LOG_ALL and a log base, so they are safe to make at any time.
 */
static void JNICALL
vhost_jni_log_write(JNIEnv *env, jclass clazz, jint vid, jlong gpa, jlong len)
{
	rte_vhost_log_write(vid, (uint64_t)gpa, (uint64_t)len);
}

static void JNICALL
vhost_jni_log_used_vring(JNIEnv *env, jclass clazz, jint vid, jint vring, jlong offset, jlong len)
{
	rte_vhost_log_used_vring(vid, (uint16_t)vring, (uint64_t)offset, (uint64_t)len);
}

static const JNINativeMethod log_methods[] = {
	{ "logWrite", "(IJJ)V", (void *)vhost_jni_log_write },
	{ "logUsedVring", "(IIJJ)V", (void *)vhost_jni_log_used_vring },
};

/* Registered apart from the other vhost natives, so that this addition stays self-contained. */
int
jvhost_vhost_log_register(JNIEnv *env)
{
	return jvhost_register(env, VHOST_CLASS, log_methods, JVHOST_ARRAY_SIZE(log_methods));
}
