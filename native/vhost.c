/* SPDX-License-Identifier: Apache-2.0
 * vhost-user ports: librte_vhost's driver API, device callbacks into Java, guest-memory reads and
 * the burst data path. The device view and address translation, which return value objects, are
 * VhostDevice's own natives (vhost_device.c).
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
#include "vhost.h"

#define VHOST_CLASS "io/jvhost/internal/NativeVhost"

static jclass vhost_class;
static jmethodID on_new_device;
static jmethodID on_destroy_device;
static jmethodID on_vring_state_changed;
static jmethodID on_features_changed;
static jmethodID on_connection_closed;

/* --- callbacks: run on DPDK's vhost-events thread, or on the thread unregistering a port ---- */

/*
 * Around each upcall: the calling thread's JNIEnv (NULL when no JVM can take it), with an
 * exception already pending on a Java thread set aside, so that the upcall runs clean and the
 * exception is pending again afterwards (a port unregistered from Java calls destroy_device).
 */
static JNIEnv *
vhost_upcall_enter(jthrowable *pending)
{
	JNIEnv *env = jvhost_env_for_upcall();

	*pending = NULL;
	if (env == NULL)
		return NULL;
	*pending = (*env)->ExceptionOccurred(env);
	if (*pending != NULL)
		(*env)->ExceptionClear(env);
	return env;
}

/* Returns true if the upcall threw (logged; listener failures are logged in Java already). */
static bool
vhost_upcall_leave(JNIEnv *env, jthrowable pending)
{
	bool failed = jvhost_upcall_failed(env, "a vhost device callback");

	if (pending != NULL) {
		(*env)->Throw(env, pending);
		(*env)->DeleteLocalRef(env, pending);
	}
	return failed;
}

static int
cb_new_device(int vid)
{
	jthrowable pending;
	JNIEnv *env = vhost_upcall_enter(&pending);
	jint rc;

	/* No JVM to track the device: refuse it rather than run it unseen. */
	if (env == NULL)
		return -1;
	rc = (*env)->CallStaticIntMethod(env, vhost_class, on_new_device, (jint)vid);
	return vhost_upcall_leave(env, pending) ? -1 : rc;
}

static void
cb_destroy_device(int vid)
{
	jthrowable pending;
	JNIEnv *env = vhost_upcall_enter(&pending);

	if (env == NULL)
		return;
	(*env)->CallStaticVoidMethod(env, vhost_class, on_destroy_device, (jint)vid);
	vhost_upcall_leave(env, pending);
}

static int
cb_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	jthrowable pending;
	JNIEnv *env = vhost_upcall_enter(&pending);

	if (env == NULL)
		return 0;
	(*env)->CallStaticVoidMethod(env, vhost_class, on_vring_state_changed, (jint)vid, (jint)queue_id,
		(jboolean)(enable != 0));
	vhost_upcall_leave(env, pending);
	return 0;
}

static int
cb_features_changed(int vid, uint64_t features)
{
	jthrowable pending;
	JNIEnv *env = vhost_upcall_enter(&pending);

	if (env == NULL)
		return 0;
	(*env)->CallStaticVoidMethod(env, vhost_class, on_features_changed, (jint)vid, (jlong)features);
	vhost_upcall_leave(env, pending);
	return 0;
}

/*
 * A frontend's connection ends (DPDK frees the device right after). Java hears whether it ever
 * sent a memory table: a frontend that negotiated features but sent none never started the
 * device, and says why only in its own log (virtio-user: "Too many memory regions").
 * Runs on the vhost-events thread, the one that handles the device's messages: dev->mem is stable.
 */
static void
cb_destroy_connection(int vid)
{
	struct virtio_net *dev = get_device(vid);
	jint regions = -1;
	jlong features = 0;
	jthrowable pending;
	JNIEnv *env;

	if (dev != NULL) {
		if (dev->mem != NULL)
			regions = (jint)dev->mem->nregions;
		features = (jlong)dev->features;
	}
	env = vhost_upcall_enter(&pending);
	if (env == NULL)
		return;
	(*env)->CallStaticVoidMethod(env, vhost_class, on_connection_closed, (jint)vid, regions, features);
	vhost_upcall_leave(env, pending);
}

static const struct rte_vhost_device_ops device_ops = {
	.new_device = cb_new_device,
	.destroy_device = cb_destroy_device,
	.vring_state_changed = cb_vring_state_changed,
	.features_changed = cb_features_changed,
	.destroy_connection = cb_destroy_connection,
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

/* The feature setters return DPDK's result: 0, or -1 when it refuses. */
static jint JNICALL
vhost_jni_driver_set_features(JNIEnv *env, jclass clazz, jstring jpath, jlong features)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_set_features(path, (uint64_t)features));
}

static jint JNICALL
vhost_jni_driver_enable_features(JNIEnv *env, jclass clazz, jstring jpath, jlong features)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_enable_features(path, (uint64_t)features));
}

static jint JNICALL
vhost_jni_driver_disable_features(JNIEnv *env, jclass clazz, jstring jpath, jlong features)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_disable_features(path, (uint64_t)features));
}

static jint JNICALL
vhost_jni_driver_set_protocol_features(JNIEnv *env, jclass clazz, jstring jpath, jlong features)
{
	return WITH_PATH(env, jpath, rte_vhost_driver_set_protocol_features(path, (uint64_t)features));
}

/* A feature mask has no value to spare for an error: a refusal throws. */
static jlong JNICALL
vhost_jni_driver_get_features(JNIEnv *env, jclass clazz, jstring jpath)
{
	uint64_t f = 0;

	if (WITH_PATH(env, jpath, rte_vhost_driver_get_features(path, &f)) != 0)
		jvhost_throw(env, jvhost_illegal_state, "no vhost driver registered for this socket");
	return (jlong)f;
}

static jlong JNICALL
vhost_jni_driver_get_protocol_features(JNIEnv *env, jclass clazz, jstring jpath)
{
	uint64_t f = 0;

	if (WITH_PATH(env, jpath, rte_vhost_driver_get_protocol_features(path, &f)) != 0)
		jvhost_throw(env, jvhost_illegal_state, "no vhost driver registered for this socket");
	return (jlong)f;
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
 * A vring past those the frontend set up (a port offering more queue pairs than the guest uses)
 * takes and gives nothing, as a disabled one does; DPDK itself would log "invalid virtqueue idx"
 * on every call, thousands of lines a second from a polling loop.
 */
static inline int
vhost_vring_is_set_up(jint vid, jint qid)
{
	return (uint32_t)qid < rte_vhost_get_vring_num(vid);
}

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

	if (!vhost_vring_is_set_up(vid, qid))
		return 0;
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

	if (!vhost_vring_is_set_up(vid, qid))
		return 0;
	return rte_vhost_dequeue_burst(vid, (uint16_t)qid, (struct rte_mempool *)(uintptr_t)pool_addr,
		pkts + offset, (uint16_t)max);
}

static const JNINativeMethod methods[] = {
	{ "driverRegister", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_register },
	{ "driverUnregister", "(Ljava/lang/String;)I", (void *)vhost_jni_driver_unregister },
	{ "callbackRegister", "(Ljava/lang/String;)I", (void *)vhost_jni_callback_register },
	{ "driverStart", "(Ljava/lang/String;)I", (void *)vhost_jni_driver_start },
	{ "driverSetFeatures", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_set_features },
	{ "driverEnableFeatures", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_enable_features },
	{ "driverDisableFeatures", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_disable_features },
	{ "driverSetProtocolFeatures", "(Ljava/lang/String;J)I", (void *)vhost_jni_driver_set_protocol_features },
	{ "driverGetFeatures", "(Ljava/lang/String;)J", (void *)vhost_jni_driver_get_features },
	{ "driverGetProtocolFeatures", "(Ljava/lang/String;)J", (void *)vhost_jni_driver_get_protocol_features },
	{ "getIfname", "(I)Ljava/lang/String;", (void *)vhost_jni_get_ifname },
	{ "vringStatsReset", "(II)I", (void *)vhost_jni_vring_stats_reset },
	{ "enableGuestNotification", "(IIZ)I", (void *)vhost_jni_enable_guest_notification },
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
	on_new_device = (*env)->GetStaticMethodID(env, vhost_class, "onNewDevice", "(I)I");
	on_destroy_device = (*env)->GetStaticMethodID(env, vhost_class, "onDestroyDevice", "(I)V");
	on_vring_state_changed = (*env)->GetStaticMethodID(env, vhost_class, "onVringStateChanged", "(IIZ)V");
	on_features_changed = (*env)->GetStaticMethodID(env, vhost_class, "onFeaturesChanged", "(IJ)V");
	on_connection_closed = (*env)->GetStaticMethodID(env, vhost_class, "onConnectionClosed", "(IIJ)V");
	if (!on_new_device || !on_destroy_device || !on_vring_state_changed || !on_features_changed
			|| !on_connection_closed)
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
