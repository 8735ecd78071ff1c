/* SPDX-License-Identifier: Apache-2.0
 * A vhost device as DPDK makes one for a new vhost-user connection, whose messages go through
 * DPDK's own vhost_user_msg_handler() on the calling thread: the IOTLB tests drive DPDK's message
 * handling with it, byte for byte, without a socket file. Its handle (iotlb_handle.h) also answers
 * the cache functions of iotlb_cache.c. Argument checks are done in Java
 * (io.jvhost.iotlb.NativeVhostDevice).
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
#include <sys/time.h>
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

#define IOTLB_DEVICE_CLASS "io/jvhost/internal/NativeIotlbDevice"

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
iotlb_device_jni_create_device(JNIEnv *env, jclass clazz, jstring jpath)
{
	struct jvhost_iotlb *h;
	const char *chars;
	int main_fds[2], slave_fds[2];

	h = iotlb_handle_alloc();
	if (h == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "IOTLB device handle");
		return 0;
	}
	chars = (*env)->GetStringUTFChars(env, jpath, NULL);
	if (chars == NULL) {
		iotlb_handle_destroy(h);
		return 0;
	}
	h->path = strdup(chars);
	(*env)->ReleaseStringUTFChars(env, jpath, chars);
	if (h->path == NULL) {
		iotlb_handle_destroy(h);
		jvhost_throw(env, jvhost_out_of_memory, "path");
		return 0;
	}
	if (rte_vhost_driver_register(h->path, RTE_VHOST_USER_IOMMU_SUPPORT) != 0) {
		free(h->path);
		h->path = NULL;
		iotlb_handle_destroy(h);
		jvhost_throw(env, jvhost_runtime, "rte_vhost_driver_register failed");
		return 0;
	}
	if (rte_vhost_driver_callback_register(h->path, &device_ops) != 0) {
		rte_vhost_driver_unregister(h->path);
		free(h->path);
		h->path = NULL;
		iotlb_handle_destroy(h);
		jvhost_throw(env, jvhost_runtime, "rte_vhost_driver_callback_register failed");
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, main_fds) != 0 ||
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, slave_fds) != 0) {
		rte_vhost_driver_unregister(h->path);
		iotlb_handle_destroy(h);
		jvhost_throw(env, jvhost_runtime, "socketpair: %s", strerror(errno));
		return 0;
	}
	h->main_frontend_fd = main_fds[0];
	h->main_backend_fd = main_fds[1];
	h->frontend_fd = slave_fds[0];
	h->slave_backend_fd = slave_fds[1];
	/*
	 * DPDK reads the message request() has just written, so its reads never wait, except where
	 * DPDK waits for the frontend itself: SET_MEM_TABLE while postcopy listens reads QEMU's ack
	 * of the region addresses (vhost_user_postcopy_register). Here the frontend is the caller,
	 * blocked in request(): without a bound that read waits forever (the reflective fuzz found
	 * it). With one, DPDK's read fails and the message is refused.
	 */
	{
		struct timeval bound = { .tv_sec = 1, .tv_usec = 0 };

		setsockopt(h->main_backend_fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
	}

	h->vid = vhost_new_device();
	if (h->vid < 0) {
		rte_vhost_driver_unregister(h->path);
		iotlb_handle_destroy(h);
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
iotlb_device_jni_take_slave_backend_fd(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	int fd = h->slave_backend_fd;

	h->slave_backend_fd = -1;
	return fd;
}

/*
 * Sends one vhost-user message (header and payload as the frontend writes them, with 'fds' as
 * SCM_RIGHTS) on the main channel and lets DPDK's vhost_user_msg_handler() handle it on this
 * thread. Returns what the handler returned (negative: DPDK refused the message); DPDK's reply,
 * if it sent one, waits on the channel for readReply().
 */
static jint JNICALL
iotlb_device_jni_request(JNIEnv *env, jclass clazz, jlong handle, jbyteArray msg, jintArray fds)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jsize len = (*env)->GetArrayLength(env, msg);
	jsize nfds = fds == NULL ? 0 : (*env)->GetArrayLength(env, fds);
	int fdv[VHOST_MEMORY_MAX_NREGIONS];
	char control[CMSG_SPACE(sizeof(fdv))];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cmsg;
	uint8_t *buf;
	jint ret;
	ssize_t n;

	if (nfds > VHOST_MEMORY_MAX_NREGIONS)
		return jvhost_throw(env, jvhost_illegal_argument, "at most %d fds", VHOST_MEMORY_MAX_NREGIONS);
	buf = malloc((size_t)len + 1);
	if (buf == NULL)
		return jvhost_throw(env, jvhost_out_of_memory, "message");
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
	if (n != (ssize_t)len)
		return jvhost_throw(env, jvhost_runtime, "sendmsg on the main channel: %s", strerror(errno));

	ret = vhost_user_msg_handler(h->vid, h->main_backend_fd);
	h->dev = get_device(h->vid);

	/* what DPDK sent on the backend-request channel meanwhile (e.g. ring translation misses) */
	pthread_mutex_lock(&h->lock);
	iotlb_handle_drain_locked(h);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* The reply DPDK sent on the main channel to the last request, or NULL if it sent none. */
static jbyteArray JNICALL
iotlb_device_jni_read_reply(JNIEnv *env, jclass clazz, jlong handle)
{
	struct jvhost_iotlb *h = handle_of(handle);
	jbyteArray reply = NULL;
	uint8_t hdr[VHOST_USER_HDR_SIZE];
	uint8_t *buf;
	uint32_t size;
	ssize_t n;

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
iotlb_device_jni_nr_vring(JNIEnv *env, jclass clazz, jlong handle)
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

/* A memfd of 'size' bytes (sparse), or -errno. */
static jint JNICALL
iotlb_device_jni_memfd(JNIEnv *env, jclass clazz, jstring jname, jlong size)
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
iotlb_device_jni_close_fd(JNIEnv *env, jclass clazz, jint fd)
{
	if (fd >= 0)
		close(fd);
}

static const JNINativeMethod methods[] = {
	{ "createDevice", "(Ljava/lang/String;)J", (void *)iotlb_device_jni_create_device },
	{ "takeSlaveBackendFd", "(J)I", (void *)iotlb_device_jni_take_slave_backend_fd },
	{ "request", "(J[B[I)I", (void *)iotlb_device_jni_request },
	{ "readReply", "(J)[B", (void *)iotlb_device_jni_read_reply },
	{ "nrVring", "(J)I", (void *)iotlb_device_jni_nr_vring },
	{ "memfd", "(Ljava/lang/String;J)I", (void *)iotlb_device_jni_memfd },
	{ "closeFd", "(I)V", (void *)iotlb_device_jni_close_fd },
};

int
jvhost_iotlb_device_register(JNIEnv *env)
{
	return jvhost_register(env, IOTLB_DEVICE_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
