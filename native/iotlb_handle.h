/* SPDX-License-Identifier: Apache-2.0
 * The handle shared by iotlb_cache.c (DPDK's IOTLB on a standalone device) and iotlb_device.c
 * (a device that takes vhost-user messages through DPDK's own handler): the device, its queues,
 * and both ends of the backend-request channel.
 */
#ifndef JVHOST_IOTLB_HANDLE_H
#define JVHOST_IOTLB_HANDLE_H

#include <jni.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost.h"

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

/*
 * struct vhost_iotlb_entry is private to iotlb.c; this is its layout in DPDK 22.11, used only to
 * read the lists for Java (iotlb_native_handle.c). The differential tests compare
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

/* A zeroed handle with every fd unset (-1) and its lock ready; NULL when out of memory. */
struct jvhost_iotlb *iotlb_handle_alloc(void);

/* Frees the handle and everything it owns (DPDK's own teardown for a message-taking device). */
void iotlb_handle_destroy(struct jvhost_iotlb *h);

/* Moves what the frontend's end of the backend-request channel received into h->buf; h->lock held. */
void iotlb_handle_drain_locked(struct jvhost_iotlb *h);

#endif /* JVHOST_IOTLB_HANDLE_H */
