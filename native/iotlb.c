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
 * (io.jvhost.iotlb.NativeIotlb), which also keeps a handle from being destroyed while in use.
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

#include "jvhost.h"

#define IOTLB_CLASS "io/jvhost/internal/NativeIotlb"

/* Bytes of backend requests kept for Java at most; the oldest whole messages go beyond it. */
#define REQUEST_BUFFER_MAX (1u << 20)

/*
 * struct vhost_iotlb_entry is private to iotlb.c; this is its layout in DPDK 22.11, used only to
 * read the lists for Java (cacheEntries, pendingEntries, counters). The differential tests compare
 * what is read here with the Java model after every operation, so a wrong layout cannot go unseen.
 */
struct iotlb_entry {
	TAILQ_ENTRY(iotlb_entry) next;
	SLIST_ENTRY(iotlb_entry) next_free;
	uint64_t iova;
	uint64_t uaddr;
	uint64_t size;
	uint8_t perm;
};

struct jvhost_iotlb {
	struct virtio_net *dev;
	uint32_t nr_vq;
	/*
	 * A device made by DPDK's own vhost_new_device() that takes vhost-user messages
	 * (createDevice): its vid (-1 for a standalone device), the vhost driver path it is
	 * registered under, the two ends of its main channel, and DPDK's end of the backend-request
	 * channel until it is handed over in VHOST_USER_SET_SLAVE_REQ_FD.
	 */
	int vid;
	char *path;
	int main_frontend_fd;
	int main_backend_fd;
	int slave_backend_fd;
	/* The frontend's end of the backend-request channel; -1 once closed. */
	int frontend_fd;
	/*
	 * What arrived on frontend_fd and Java has not read yet. The socket is drained into here
	 * after every miss, so DPDK's sendmsg() never blocks on a full socket however long Java
	 * leaves the messages unread.
	 */
	pthread_mutex_t lock;
	uint8_t *buf;
	size_t buf_len;
	size_t buf_cap;
	uint64_t dropped;
};

static inline struct jvhost_iotlb *
handle_of(jlong handle)
{
	return (struct jvhost_iotlb *)(uintptr_t)handle;
}

static inline struct vhost_virtqueue *
vq_of(jlong handle, jint vq)
{
	return handle_of(handle)->dev->virtqueue[vq];
}

static void
destroy(struct jvhost_iotlb *h)
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
native_create(JNIEnv *env, jclass clazz, jint nr_vq, jstring name)
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
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "IOTLB handle");
		return 0;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->frontend_fd = -1;
	h->vid = -1;
	h->main_frontend_fd = -1;
	h->main_backend_fd = -1;
	h->slave_backend_fd = -1;

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
		destroy(h);
		return 0;
	}
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", chars);
	(*env)->ReleaseStringUTFChars(env, name, chars);

	/* vhost-user's backend-request channel is a stream socket, as QEMU makes it */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		destroy(h);
		jvhost_throw(env, jvhost_runtime, "socketpair: %s", strerror(errno));
		return 0;
	}
	dev->slave_req_fd = fds[0];
	h->frontend_fd = fds[1];

	for (i = 0; i < nr_vq; i++) {
		struct vhost_virtqueue *vq = rte_zmalloc(NULL, sizeof(*vq), 0);

		if (vq == NULL) {
			destroy(h);
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
			destroy(h);
			jvhost_throw(env, jvhost_out_of_memory,
				"vhost_user_iotlb_init failed for queue %d (IOTLB pool allocation)", (int)i);
			return 0;
		}
	}
	return (jlong)(uintptr_t)h;
}

static void JNICALL
native_destroy(JNIEnv *env, jclass clazz, jlong handle)
{
	destroy(handle_of(handle));
}

static void JNICALL
native_cache_insert(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong uaddr,
	jlong size, jint perm)
{
	vhost_user_iotlb_cache_insert(handle_of(handle)->dev, vq_of(handle, vq), (uint64_t)iova,
		(uint64_t)uaddr, (uint64_t)size, (uint8_t)perm);
}

static void JNICALL
native_cache_remove(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong size)
{
	vhost_user_iotlb_cache_remove(vq_of(handle, vq), (uint64_t)iova, (uint64_t)size);
}

/* size[0] in: the length wanted; out: the length found mapped, as DPDK writes it back. */
static jlong JNICALL
native_cache_find(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlongArray size,
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
native_find_loop(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlongArray iovas, jlong size,
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
native_pending_miss(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jint perm)
{
	return vhost_user_iotlb_pending_miss(vq_of(handle, vq), (uint64_t)iova, (uint8_t)perm)
		? JNI_TRUE : JNI_FALSE;
}

static void JNICALL
native_pending_insert(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jint perm)
{
	vhost_user_iotlb_pending_insert(handle_of(handle)->dev, vq_of(handle, vq), (uint64_t)iova,
		(uint8_t)perm);
}

static void JNICALL
native_pending_remove(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlong size,
	jint perm)
{
	vhost_user_iotlb_pending_remove(vq_of(handle, vq), (uint64_t)iova, (uint64_t)size,
		(uint8_t)perm);
}

static void JNICALL
native_flush_all(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	vhost_user_iotlb_flush_all(vq_of(handle, vq));
}

/* Moves what the frontend's end has received into h->buf. Caller holds h->lock. */
static void
drain_locked(struct jvhost_iotlb *h)
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
native_iova_to_vva(JNIEnv *env, jclass clazz, jlong handle, jint vq, jlong iova, jlongArray size,
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
		drain_locked(h);
		pthread_mutex_unlock(&h->lock);
	}
	return (jlong)vva;
}

/* The next whole message the frontend's end received (header and payload), or NULL. */
static jbyteArray JNICALL
native_read_backend_request(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jbyteArray result = NULL;
	uint32_t payload;
	size_t len;

	pthread_mutex_lock(&h->lock);
	drain_locked(h);
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
native_close_frontend(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);

	pthread_mutex_lock(&h->lock);
	if (h->frontend_fd >= 0) {
		drain_locked(h);
		close(h->frontend_fd);
		h->frontend_fd = -1;
	}
	pthread_mutex_unlock(&h->lock);
}

static jlong JNICALL
native_dropped_requests(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jlong n;

	pthread_mutex_lock(&h->lock);
	n = (jlong)h->dropped;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/*
 * A growing array of jlong filled under a lock, where nothing may throw, and turned into a
 * long[] after it is released. A failed allocation is remembered and reported at the end.
 */
struct jlong_buf {
	jlong *v;
	size_t n, cap;
	int failed;
};

static void
jlong_buf_push(struct jlong_buf *b, const jlong *vals, size_t k)
{
	if (b->failed)
		return;
	if (b->n + k > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		jlong *grown = realloc(b->v, cap * sizeof(jlong));

		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		b->v = grown;
		b->cap = cap;
	}
	memcpy(b->v + b->n, vals, k * sizeof(jlong));
	b->n += k;
}

static jlongArray
jlong_buf_finish(JNIEnv *env, struct jlong_buf *b, const char *what)
{
	jlongArray result = NULL;

	if (b->failed)
		jvhost_throw(env, jvhost_out_of_memory, "%s", what);
	else if ((result = (*env)->NewLongArray(env, (jsize)b->n)) != NULL)
		(*env)->SetLongArrayRegion(env, result, 0, (jsize)b->n, b->v);
	free(b->v);
	return result;
}

/* (iova, uaddr, size, perm) per cache entry, in list order, under the IOTLB read lock. */
static jlongArray JNICALL
native_cache_entries(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	struct jlong_buf b = { 0 };

	vhost_user_iotlb_rd_lock(v);
	for (node = (void *)TAILQ_FIRST(&v->iotlb_list); node != NULL; node = TAILQ_NEXT(node, next)) {
		jlong e[4] = { (jlong)node->iova, (jlong)node->uaddr, (jlong)node->size, (jlong)node->perm };

		jlong_buf_push(&b, e, 4);
	}
	vhost_user_iotlb_rd_unlock(v);
	return jlong_buf_finish(env, &b, "IOTLB cache entries");
}

/* (iova, perm) per pending entry, in list order, under the pending lock. */
static jlongArray JNICALL
native_pending_entries(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	struct jlong_buf b = { 0 };

	rte_rwlock_read_lock(&v->iotlb_pending_lock);
	for (node = (void *)TAILQ_FIRST(&v->iotlb_pending_list); node != NULL;
			node = TAILQ_NEXT(node, next)) {
		jlong e[2] = { (jlong)node->iova, (jlong)node->perm };

		jlong_buf_push(&b, e, 2);
	}
	rte_rwlock_read_unlock(&v->iotlb_pending_lock);
	return jlong_buf_finish(env, &b, "IOTLB pending entries");
}

/* [iotlb_cache_nr, free pool entries, iotlb_hits, iotlb_misses] */
static jlongArray JNICALL
native_counters(JNIEnv *env, jclass clazz, jlong handle, jint vq)
{
	struct vhost_virtqueue *v = vq_of(handle, vq);
	struct iotlb_entry *node;
	jlong values[4];
	jlong free_nr = 0;
	jlongArray result;

	rte_spinlock_lock(&v->iotlb_free_lock);
	for (node = (void *)SLIST_FIRST(&v->iotlb_free_list); node != NULL;
			node = SLIST_NEXT(node, next_free))
		free_nr++;
	rte_spinlock_unlock(&v->iotlb_free_lock);
	vhost_user_iotlb_rd_lock(v);
	values[0] = v->iotlb_cache_nr;
	vhost_user_iotlb_rd_unlock(v);
	values[1] = free_nr;
	values[2] = (jlong)v->stats.iotlb_hits;
	values[3] = (jlong)v->stats.iotlb_misses;
	result = (*env)->NewLongArray(env, 4);
	if (result != NULL)
		(*env)->SetLongArrayRegion(env, result, 0, 4, values);
	return result;
}

static void JNICALL
native_srand(JNIEnv *env, jclass clazz, jlong seed)
{
	rte_srand((uint64_t)seed);
}

static jlong JNICALL
native_rand(JNIEnv *env, jclass clazz)
{
	return (jlong)rte_rand();
}

/* Which of rte_rand()'s per-lcore states the calling thread uses (__rte_rand_get_state). */
static jint JNICALL
native_rand_state_index(JNIEnv *env, jclass clazz)
{
	unsigned int lcore_id = rte_lcore_id();

	if (lcore_id == LCORE_ID_ANY)
		lcore_id = rte_get_main_lcore();
	return (jint)lcore_id;
}

static jint JNICALL
native_max_lcore(JNIEnv *env, jclass clazz)
{
	return RTE_MAX_LCORE;
}

/* The application callbacks DPDK wants for a device: none of them matter here. */
static int
device_new(int vid)
{
	return 0;
}

static void
device_destroy(int vid)
{
}

static const struct rte_vhost_device_ops device_ops = {
	.new_device = device_new,
	.destroy_device = device_destroy,
};

/*
 * A device as DPDK makes one for a new vhost-user connection (vhost_user_add_connection in
 * socket.c): a vhost driver registered under 'path' with RTE_VHOST_USER_IOMMU_SUPPORT (never
 * started: no socket file), vhost_new_device(), its ifname, vhost_setup_virtio_net() with IOMMU
 * support and statistics. Messages then go through DPDK's vhost_user_msg_handler() (request()).
 */
static jlong JNICALL
native_create_device(JNIEnv *env, jclass clazz, jstring jpath)
{
	struct jvhost_iotlb *h;
	const char *chars;
	int main_fds[2], slave_fds[2];

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "IOTLB device handle");
		return 0;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->frontend_fd = -1;
	h->vid = -1;
	h->main_frontend_fd = -1;
	h->main_backend_fd = -1;
	h->slave_backend_fd = -1;
	chars = (*env)->GetStringUTFChars(env, jpath, NULL);
	if (chars == NULL) {
		destroy(h);
		return 0;
	}
	h->path = strdup(chars);
	(*env)->ReleaseStringUTFChars(env, jpath, chars);
	if (h->path == NULL) {
		destroy(h);
		jvhost_throw(env, jvhost_out_of_memory, "path");
		return 0;
	}
	if (rte_vhost_driver_register(h->path, RTE_VHOST_USER_IOMMU_SUPPORT) != 0) {
		free(h->path);
		h->path = NULL;
		destroy(h);
		jvhost_throw(env, jvhost_runtime, "rte_vhost_driver_register failed");
		return 0;
	}
	if (rte_vhost_driver_callback_register(h->path, &device_ops) != 0) {
		rte_vhost_driver_unregister(h->path);
		free(h->path);
		h->path = NULL;
		destroy(h);
		jvhost_throw(env, jvhost_runtime, "rte_vhost_driver_callback_register failed");
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, main_fds) != 0 ||
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, slave_fds) != 0) {
		rte_vhost_driver_unregister(h->path);
		destroy(h);
		jvhost_throw(env, jvhost_runtime, "socketpair: %s", strerror(errno));
		return 0;
	}
	h->main_frontend_fd = main_fds[0];
	h->main_backend_fd = main_fds[1];
	h->frontend_fd = slave_fds[0];
	h->slave_backend_fd = slave_fds[1];

	h->vid = vhost_new_device();
	if (h->vid < 0) {
		rte_vhost_driver_unregister(h->path);
		destroy(h);
		jvhost_throw(env, jvhost_runtime, "vhost_new_device failed (RTE_MAX_VHOST_DEVICE reached?)");
		return 0;
	}
	vhost_set_ifname(h->vid, h->path, strlen(h->path));
	vhost_setup_virtio_net(h->vid, true, true, true, true);
	h->dev = get_device(h->vid);
	return (jlong)(uintptr_t)h;
}

/* DPDK's end of the backend-request channel, to send in VHOST_USER_SET_SLAVE_REQ_FD (once). */
static jint JNICALL
native_take_slave_backend_fd(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	int fd = h->slave_backend_fd;

	h->slave_backend_fd = -1;
	return fd;
}

/*
 * Sends one vhost-user message (header and payload as the frontend writes them, with 'fds' as
 * SCM_RIGHTS) on the main channel and lets DPDK's vhost_user_msg_handler() handle it on this
 * thread. rc[0] = what the handler returned. Returns DPDK's reply, if it sent one, or NULL.
 */
static jbyteArray JNICALL
native_request(JNIEnv *env, jclass clazz, jlong handle, jbyteArray msg, jintArray fds, jintArray rc)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jsize len = (*env)->GetArrayLength(env, msg);
	jsize nfds = fds == NULL ? 0 : (*env)->GetArrayLength(env, fds);
	int fdv[VHOST_MEMORY_MAX_NREGIONS];
	char control[CMSG_SPACE(sizeof(fdv))];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cmsg;
	jbyteArray reply = NULL;
	uint8_t hdr[VHOST_USER_HDR_SIZE];
	uint8_t *buf;
	uint32_t size;
	jint ret;
	ssize_t n;

	if (nfds > VHOST_MEMORY_MAX_NREGIONS) {
		jvhost_throw(env, jvhost_illegal_argument, "at most %d fds", VHOST_MEMORY_MAX_NREGIONS);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "message");
		return NULL;
	}
	(*env)->GetByteArrayRegion(env, msg, 0, len, (jbyte *)buf);
	if (nfds > 0)
		(*env)->GetIntArrayRegion(env, fds, 0, nfds, fdv);

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = (size_t)len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fdv, sizeof(int) * (size_t)nfds);
	}
	n = sendmsg(h->main_frontend_fd, &mh, MSG_NOSIGNAL);
	free(buf);
	if (n != (ssize_t)len) {
		jvhost_throw(env, jvhost_runtime, "sendmsg on the main channel: %s", strerror(errno));
		return NULL;
	}

	ret = vhost_user_msg_handler(h->vid, h->main_backend_fd);
	h->dev = get_device(h->vid);
	(*env)->SetIntArrayRegion(env, rc, 0, 1, &ret);

	/* what DPDK sent on the backend-request channel meanwhile (e.g. ring translation misses) */
	pthread_mutex_lock(&h->lock);
	drain_locked(h);
	pthread_mutex_unlock(&h->lock);

	n = recv(h->main_frontend_fd, hdr, sizeof(hdr), MSG_DONTWAIT | MSG_PEEK);
	if (n == (ssize_t)sizeof(hdr)) {
		memcpy(&size, hdr + 8, sizeof(size));
		if (size <= sizeof(VhostUserMsg)) {
			buf = malloc(sizeof(hdr) + size);
			if (buf != NULL) {
				n = recv(h->main_frontend_fd, buf, sizeof(hdr) + size, MSG_WAITALL);
				if (n == (ssize_t)(sizeof(hdr) + size)) {
					reply = (*env)->NewByteArray(env, (jsize)n);
					if (reply != NULL)
						(*env)->SetByteArrayRegion(env, reply, 0, (jsize)n, (const jbyte *)buf);
				}
				free(buf);
			}
		}
	}
	return reply;
}

/* dev->nr_vring, and whether every queue below it exists */
static jint JNICALL
native_nr_vring(JNIEnv *env, jclass clazz, jlong handle)
{
	struct virtio_net *dev = handle_of(handle)->dev;
	uint32_t i;

	if (dev == NULL)
		return 0;
	for (i = 0; i < dev->nr_vring; i++)
		if (dev->virtqueue[i] == NULL)
			return (jint)i;
	return (jint)dev->nr_vring;
}

/* (guest_phys_addr, guest_user_addr, size, host_user_addr) per region of dev->mem */
static jlongArray JNICALL
native_mem_table(JNIEnv *env, jclass clazz, jlong handle)
{
	struct virtio_net *dev = handle_of(handle)->dev;
	jlong values[VHOST_MEMORY_MAX_NREGIONS * 4];
	jlongArray result;
	uint32_t i, n = 0;

	if (dev != NULL && dev->mem != NULL) {
		for (i = 0; i < dev->mem->nregions && i < VHOST_MEMORY_MAX_NREGIONS; i++) {
			struct rte_vhost_mem_region *r = &dev->mem->regions[i];

			values[n++] = (jlong)r->guest_phys_addr;
			values[n++] = (jlong)r->guest_user_addr;
			values[n++] = (jlong)r->size;
			values[n++] = (jlong)r->host_user_addr;
		}
	}
	result = (*env)->NewLongArray(env, (jsize)n);
	if (result != NULL)
		(*env)->SetLongArrayRegion(env, result, 0, (jsize)n, values);
	return result;
}

/* A memfd of 'size' bytes (sparse), or -errno. */
static jint JNICALL
native_memfd(JNIEnv *env, jclass clazz, jstring jname, jlong size)
{
	const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
	int fd;

	if (name == NULL)
		return -ENOMEM;
	fd = memfd_create(name, MFD_CLOEXEC);
	(*env)->ReleaseStringUTFChars(env, jname, name);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void JNICALL
native_close_fd(JNIEnv *env, jclass clazz, jint fd)
{
	if (fd >= 0)
		close(fd);
}

static const JNINativeMethod methods[] = {
	{ "createDevice", "(Ljava/lang/String;)J", (void *)native_create_device },
	{ "takeSlaveBackendFd", "(J)I", (void *)native_take_slave_backend_fd },
	{ "request", "(J[B[I[I)[B", (void *)native_request },
	{ "nrVring", "(J)I", (void *)native_nr_vring },
	{ "memTable", "(J)[J", (void *)native_mem_table },
	{ "memfd", "(Ljava/lang/String;J)I", (void *)native_memfd },
	{ "closeFd", "(I)V", (void *)native_close_fd },
	{ "create", "(ILjava/lang/String;)J", (void *)native_create },
	{ "destroy", "(J)V", (void *)native_destroy },
	{ "cacheInsert", "(JIJJJI)V", (void *)native_cache_insert },
	{ "cacheRemove", "(JIJJ)V", (void *)native_cache_remove },
	{ "cacheFind", "(JIJ[JI)J", (void *)native_cache_find },
	{ "findLoop", "(JI[JJIJ)J", (void *)native_find_loop },
	{ "pendingMiss", "(JIJI)Z", (void *)native_pending_miss },
	{ "pendingInsert", "(JIJI)V", (void *)native_pending_insert },
	{ "pendingRemove", "(JIJJI)V", (void *)native_pending_remove },
	{ "flushAll", "(JI)V", (void *)native_flush_all },
	{ "iovaToVva", "(JIJ[JI)J", (void *)native_iova_to_vva },
	{ "readBackendRequest", "(J)[B", (void *)native_read_backend_request },
	{ "closeFrontend", "(J)V", (void *)native_close_frontend },
	{ "droppedRequests", "(J)J", (void *)native_dropped_requests },
	{ "cacheEntries", "(JI)[J", (void *)native_cache_entries },
	{ "pendingEntries", "(JI)[J", (void *)native_pending_entries },
	{ "counters", "(JI)[J", (void *)native_counters },
	{ "srand", "(J)V", (void *)native_srand },
	{ "rand", "()J", (void *)native_rand },
	{ "randStateIndex", "()I", (void *)native_rand_state_index },
	{ "maxLcore", "()I", (void *)native_max_lcore },
};

int
jvhost_iotlb_register(JNIEnv *env)
{
	return jvhost_register(env, IOTLB_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
