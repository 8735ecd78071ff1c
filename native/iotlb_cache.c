/* SPDX-License-Identifier: Apache-2.0
 * DPDK 22.11's vhost IOTLB (lib/vhost/iotlb.c, __vhost_iova_to_vva in vhost.c), called one-to-one
 * from Java on a standalone device.
 *
 * A handle owns a struct virtio_net and its virtqueues, allocated with rte_zmalloc like DPDK's
 * own, with the state DPDK gives a device whose frontend negotiated IOMMU support:
 * VIRTIO_DEV_SUPPORT_IOMMU in flags, VIRTIO_F_IOMMU_PLATFORM in features, the REPLY_ACK and
 * SLAVE_REQ protocol features, and a backend-request (slave) channel: one end of a socketpair is
 * dev->slave_req_fd, which is where __vhost_iova_to_vva's IOTLB MISS messages go; the shim keeps
 * the other end, the frontend's, and hands what arrives there to Java byte for byte.
 *
 * Every entry point calls the DPDK function of the same name with the locking DPDK's callers use.
 * Argument checks (handle open, queue index, permission) are done in Java
 * (io.jvhost.iotlb.NativeIotlbHandle and its subclasses), which also keeps a handle from being destroyed while in use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_vhost.h>

#include "vhost.h"
#include "vhost_user.h"
#include "iotlb.h"

#include "iotlb_handle.h"
#include "jvhost.h"

#define IOTLB_CACHE_CLASS "io/jvhost/internal/NativeIotlbCache"

/* Bytes of backend requests kept for Java at most; the oldest whole messages go beyond it. */
#define REQUEST_BUFFER_MAX (1u << 20)

struct jvhost_iotlb *
iotlb_handle_alloc(void)
{
	struct jvhost_iotlb *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->frontend_fd = -1;
	h->vid = -1;
	h->main_frontend_fd = -1;
	h->main_backend_fd = -1;
	h->slave_backend_fd = -1;
	return h;
}

void
iotlb_handle_destroy(struct jvhost_iotlb *h)
{
	uint32_t i;

	if (h->vid >= 0) {
		/* DPDK's own teardown: closes slave_req_fd, unmaps the memory, frees the queues */
		vhost_destroy_device(h->vid);
		rte_vhost_driver_unregister(h->path);
		h->dev = NULL;
	}
	if (h->main_frontend_fd >= 0)
		close(h->main_frontend_fd);
	if (h->main_backend_fd >= 0)
		close(h->main_backend_fd);
	if (h->slave_backend_fd >= 0)
		close(h->slave_backend_fd);
	free(h->path);
	if (h->dev != NULL) {
		for (i = 0; i < h->nr_vq; i++) {
			struct vhost_virtqueue *vq = h->dev->virtqueue[i];

			if (vq == NULL)
				continue;
			vhost_user_iotlb_destroy(vq);
			rte_free(vq);
		}
		if (h->dev->slave_req_fd >= 0)
			close(h->dev->slave_req_fd);
		rte_free(h->dev);
	}
	if (h->frontend_fd >= 0)
		close(h->frontend_fd);
	free(h->buf);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/*
 * Returns a handle, or 0 with an exception pending. The virtqueues are set up as
 * init_vring_queue() in vhost.c does (which is static there): zeroed, index, fds unset, then
 * vhost_user_iotlb_init().
 */
static jlong JNICALL
iotlb_cache_jni_create(JNIEnv *env, jclass clazz, jint nr_vq, jstring name)
{
	struct jvhost_iotlb *h;
	struct virtio_net *dev;
	const char *chars;
	int fds[2];
	jint i;

	if (nr_vq < 1 || nr_vq > VHOST_MAX_QUEUE_PAIRS * 2) {
		jvhost_throw(env, jvhost_illegal_argument, "queues: %d", (int)nr_vq);
		return 0;
	}
	h = iotlb_handle_alloc();
	if (h == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "IOTLB handle");
		return 0;
	}

	dev = rte_zmalloc(NULL, sizeof(*dev), 0);
	if (dev == NULL) {
		free(h);
		jvhost_throw(env, jvhost_out_of_memory, "rte_zmalloc(struct virtio_net) failed");
		return 0;
	}
	h->dev = dev;
	dev->vid = -1;
	dev->slave_req_fd = -1;
	dev->postcopy_ufd = -1;
	rte_spinlock_init(&dev->slave_req_lock);
	dev->flags = VIRTIO_DEV_SUPPORT_IOMMU | VIRTIO_DEV_STATS_ENABLED;
	dev->features = 1ULL << VIRTIO_F_IOMMU_PLATFORM;
	dev->protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		(1ULL << VHOST_USER_PROTOCOL_F_SLAVE_REQ);
	chars = (*env)->GetStringUTFChars(env, name, NULL);
	if (chars == NULL) {
		iotlb_handle_destroy(h);
		return 0;
	}
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", chars);
	(*env)->ReleaseStringUTFChars(env, name, chars);

	/* vhost-user's backend-request channel is a stream socket, as QEMU makes it */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		iotlb_handle_destroy(h);
		jvhost_throw(env, jvhost_runtime, "socketpair: %s", strerror(errno));
		return 0;
	}
	dev->slave_req_fd = fds[0];
	h->frontend_fd = fds[1];

	for (i = 0; i < nr_vq; i++) {
		struct vhost_virtqueue *vq = rte_zmalloc(NULL, sizeof(*vq), 0);

		if (vq == NULL) {
			iotlb_handle_destroy(h);
			jvhost_throw(env, jvhost_out_of_memory, "rte_zmalloc(struct vhost_virtqueue) failed");
			return 0;
		}
		dev->virtqueue[i] = vq;
		h->nr_vq = (uint32_t)i + 1;
		dev->nr_vring = h->nr_vq;
		vq->index = (uint32_t)i;
		vq->kickfd = VIRTIO_UNINITIALIZED_EVENTFD;
		vq->callfd = VIRTIO_UNINITIALIZED_EVENTFD;
		vq->notif_enable = VIRTIO_UNINITIALIZED_NOTIF;
		vq->numa_node = SOCKET_ID_ANY;
		if (vhost_user_iotlb_init(dev, vq) != 0) {
			iotlb_handle_destroy(h);
			jvhost_throw(env, jvhost_out_of_memory,
				"vhost_user_iotlb_init failed for queue %d (IOTLB pool allocation)", (int)i);
			return 0;
		}
	}
	return (jlong)(uintptr_t)h;
}

static void JNICALL
iotlb_cache_jni_destroy(JNIEnv *env, jclass clazz, jlong handle)
{
	iotlb_handle_destroy(handle_of(handle));
}

static void JNICALL
iotlb_cache_jni_cache_insert(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong uaddr,
	jlong size, jint perm)
{
	vhost_user_iotlb_cache_insert(handle_of(handle)->dev, vq_of(handle, vq), (uint64_t)iova,
		(uint64_t)uaddr, (uint64_t)size, (uint8_t)perm);
}

static void JNICALL
iotlb_cache_jni_cache_remove(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong size)
{
	vhost_user_iotlb_cache_remove(vq_of(handle, vq), (uint64_t)iova, (uint64_t)size);
}

/* size[0] in: the length wanted; out: the length found mapped, as DPDK writes it back. */
static jlong JNICALL
iotlb_cache_jni_cache_find(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlongArray size,
	jint perm)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	jlong len;
	uint64_t sz, vva;

	(*env)->GetLongArrayRegion(env, size, 0, 1, &len);
	sz = (uint64_t)len;
	/* vhost_user_iotlb_cache_find()'s callers hold the IOTLB read lock */
	vhost_user_iotlb_rd_lock(v);
	vva = vhost_user_iotlb_cache_find(v, (uint64_t)iova, &sz, (uint8_t)perm);
	vhost_user_iotlb_rd_unlock(v);
	len = (jlong)sz;
	(*env)->SetLongArrayRegion(env, size, 0, 1, &len);
	return (jlong)vva;
}

/*
 * A lookup loop in C, without JNI per lookup: n finds of iovas[i % count], each for 'size' bytes,
 * under one IOTLB read lock as in a data path burst. Returns the sum of the vvas and sizes found,
 * so the compiler cannot drop the lookups. For benchmarks.
 */
static jlong JNICALL
iotlb_cache_jni_find_loop(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlongArray iovas, jlong size,
	jint perm, jlong n)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	jsize count = (*env)->GetArrayLength(env, iovas);
	jlong *a;
	uint64_t sum = 0, sz;
	jlong i;
	jsize k = 0;

	if (count == 0)
		return 0;
	a = malloc(sizeof(jlong) * (size_t)count);
	if (a == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "find loop");
		return 0;
	}
	(*env)->GetLongArrayRegion(env, iovas, 0, count, a);
	/* the data path holds the IOTLB read lock for a whole burst of lookups, so does this loop */
	vhost_user_iotlb_rd_lock(v);
	for (i = 0; i < n; i++) {
		sz = (uint64_t)size;
		sum += vhost_user_iotlb_cache_find(v, (uint64_t)a[k], &sz, (uint8_t)perm);
		sum += sz;
		if (++k == count)
			k = 0;
	}
	vhost_user_iotlb_rd_unlock(v);
	free(a);
	return (jlong)sum;
}

static jboolean JNICALL
iotlb_cache_jni_pending_miss(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jint perm)
{
	return vhost_user_iotlb_pending_miss(vq_of(handle, vq), (uint64_t)iova, (uint8_t)perm)
		? JNI_TRUE : JNI_FALSE;
}

static void JNICALL
iotlb_cache_jni_pending_insert(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jint perm)
{
	vhost_user_iotlb_pending_insert(handle_of(handle)->dev, vq_of(handle, vq), (uint64_t)iova,
		(uint8_t)perm);
}

static void JNICALL
iotlb_cache_jni_pending_remove(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong size,
	jint perm)
{
	vhost_user_iotlb_pending_remove(vq_of(handle, vq), (uint64_t)iova, (uint64_t)size,
		(uint8_t)perm);
}

static void JNICALL
iotlb_cache_jni_flush_all(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	vhost_user_iotlb_flush_all(vq_of(handle, vq));
}

/* Moves what the frontend's end has received into h->buf. Caller holds h->lock. */
void
iotlb_handle_drain_locked(struct jvhost_iotlb *h)
{
	uint8_t tmp[4096];
	ssize_t n;

	if (h->frontend_fd < 0)
		return;
	for (;;) {
		n = recv(h->frontend_fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (h->buf_len + (size_t)n > h->buf_cap) {
			size_t cap = h->buf_cap ? h->buf_cap : 4096;
			uint8_t *grown;

			while (cap < h->buf_len + (size_t)n && cap < REQUEST_BUFFER_MAX)
				cap *= 2;
			if (cap >= h->buf_len + (size_t)n) {
				grown = realloc(h->buf, cap);
				if (grown != NULL) {
					h->buf = grown;
					h->buf_cap = cap;
				}
			}
		}
		/* Full: drop the oldest whole messages (12-byte header, then 'size' bytes). */
		while (h->buf_len + (size_t)n > h->buf_cap && h->buf_len >= VHOST_USER_HDR_SIZE) {
			uint32_t payload;
			size_t first;

			memcpy(&payload, h->buf + 8, sizeof(payload));
			first = VHOST_USER_HDR_SIZE + payload;
			if (first > h->buf_len)
				first = h->buf_len;
			memmove(h->buf, h->buf + first, h->buf_len - first);
			h->buf_len -= first;
			h->dropped++;
		}
		if (h->buf_len + (size_t)n > h->buf_cap)
			return; /* no memory at all: leave it in the socket */
		memcpy(h->buf + h->buf_len, tmp, (size_t)n);
		h->buf_len += (size_t)n;
	}
}

/* The way DPDK's data path calls it (vhost_iova_to_vva() with the IOTLB read lock held). */
static jlong JNICALL
iotlb_cache_jni_iova_to_vva(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlongArray size,
	jint perm)
{
	struct jvhost_iotlb *h = handle_of(handle);
	struct vhost_virtqueue *v = vq_of(handle, vq);
	jlong len;
	uint64_t sz, vva;

	(*env)->GetLongArrayRegion(env, size, 0, 1, &len);
	sz = (uint64_t)len;
	vhost_user_iotlb_rd_lock(v);
	vva = vhost_iova_to_vva(h->dev, v, (uint64_t)iova, &sz, (uint8_t)perm);
	vhost_user_iotlb_rd_unlock(v);
	len = (jlong)sz;
	(*env)->SetLongArrayRegion(env, size, 0, 1, &len);
	if (vva == 0 && sz != 0) {
		/* maybe a miss, which DPDK has sent: take it off the socket */
		pthread_mutex_lock(&h->lock);
		iotlb_handle_drain_locked(h);
		pthread_mutex_unlock(&h->lock);
	}
	return (jlong)vva;
}

/* The next whole message the frontend's end received (header and payload), or NULL. */
static jbyteArray JNICALL
iotlb_cache_jni_read_backend_request(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jbyteArray result = NULL;
	uint32_t payload;
	size_t len;

	pthread_mutex_lock(&h->lock);
	iotlb_handle_drain_locked(h);
	if (h->buf_len >= VHOST_USER_HDR_SIZE) {
		memcpy(&payload, h->buf + 8, sizeof(payload));
		len = VHOST_USER_HDR_SIZE + (size_t)payload;
		if (len <= h->buf_len) {
			result = (*env)->NewByteArray(env, (jsize)len);
			if (result != NULL) {
				(*env)->SetByteArrayRegion(env, result, 0, (jsize)len, (const jbyte *)h->buf);
				memmove(h->buf, h->buf + len, h->buf_len - len);
				h->buf_len -= len;
			}
		}
	}
	pthread_mutex_unlock(&h->lock);
	return result;
}

/* Closes the frontend's end, so that DPDK's next MISS fails to send (EPIPE). */
static void JNICALL
iotlb_cache_jni_close_frontend(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);

	pthread_mutex_lock(&h->lock);
	if (h->frontend_fd >= 0) {
		iotlb_handle_drain_locked(h);
		close(h->frontend_fd);
		h->frontend_fd = -1;
	}
	pthread_mutex_unlock(&h->lock);
}

static jlong JNICALL
iotlb_cache_jni_dropped_requests(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jlong n;

	pthread_mutex_lock(&h->lock);
	n = (jlong)h->dropped;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static const JNINativeMethod methods[] = {
	{ "create", "(ILjava/lang/String;)J", (void *)iotlb_cache_jni_create },
	{ "destroy", "(J)V", (void *)iotlb_cache_jni_destroy },
	{ "cacheInsert", "(JIJJJI)V", (void *)iotlb_cache_jni_cache_insert },
	{ "cacheRemove", "(JIJJ)V", (void *)iotlb_cache_jni_cache_remove },
	{ "cacheFind", "(JIJ[JI)J", (void *)iotlb_cache_jni_cache_find },
	{ "findLoop", "(JI[JJIJ)J", (void *)iotlb_cache_jni_find_loop },
	{ "pendingMiss", "(JIJI)Z", (void *)iotlb_cache_jni_pending_miss },
	{ "pendingInsert", "(JIJI)V", (void *)iotlb_cache_jni_pending_insert },
	{ "pendingRemove", "(JIJJI)V", (void *)iotlb_cache_jni_pending_remove },
	{ "flushAll", "(JI)V", (void *)iotlb_cache_jni_flush_all },
	{ "iovaToVva", "(JIJ[JI)J", (void *)iotlb_cache_jni_iova_to_vva },
	{ "readBackendRequest", "(J)[B", (void *)iotlb_cache_jni_read_backend_request },
	{ "closeFrontend", "(J)V", (void *)iotlb_cache_jni_close_frontend },
	{ "droppedRequests", "(J)J", (void *)iotlb_cache_jni_dropped_requests },
};

int
jvhost_iotlb_cache_register(JNIEnv *env)
{
	return jvhost_register(env, IOTLB_CACHE_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
