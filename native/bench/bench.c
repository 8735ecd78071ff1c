/* SPDX-License-Identifier: Apache-2.0
 * The data-path benchmark's loop written in C: the yardstick for the same loop in Java
 * (java/src/jmh/java/io/jvhost/datapath/DataPathBenchmark.java). Not used by jvhost itself.
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "../jvhost.h"

#define BENCH_CLASS "io/jvhost/bench/NativeBench"
#define BENCH_MAX_BURST 256

/*
 * iterations x: allocate burst 64-byte frames, enqueue them to the guest (vring 0), let the
 * in-process guest port receive and send them back, dequeue them (vring 1), free everything.
 * Returns the packets dequeued.
 */
static jlong JNICALL
native_loop(JNIEnv *env, jclass clazz, jint vid, jint guest_port, jlong pool_addr, jint burst,
		jlong iterations)
{
	struct rte_mempool *pool = (struct rte_mempool *)(uintptr_t)pool_addr;
	struct rte_mbuf *tx[BENCH_MAX_BURST], *grx[BENCH_MAX_BURST], *rx[BENCH_MAX_BURST];
	static const uint8_t frame[64] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00 };
	jlong received = 0, it;
	uint16_t n, i, taken, got, sent;

	if (burst < 1 || burst > BENCH_MAX_BURST)
		return -1;
	for (it = 0; it < iterations; it++) {
		if (rte_pktmbuf_alloc_bulk(pool, tx, (unsigned int)burst) != 0)
			return -2;
		for (i = 0; i < burst; i++) {
			memcpy(rte_pktmbuf_mtod(tx[i], void *), frame, sizeof(frame));
			tx[i]->data_len = sizeof(frame);
			tx[i]->pkt_len = sizeof(frame);
		}
		taken = rte_vhost_enqueue_burst(vid, 0, tx, (uint16_t)burst);
		rte_pktmbuf_free_bulk(tx, (unsigned int)burst); /* taken ones were copied; the rest dropped */
		got = rte_eth_rx_burst((uint16_t)guest_port, 0, grx, (uint16_t)burst);
		sent = rte_eth_tx_burst((uint16_t)guest_port, 0, grx, got);
		if (sent < got)
			rte_pktmbuf_free_bulk(grx + sent, got - sent);
		n = rte_vhost_dequeue_burst(vid, 1, pool, rx, (uint16_t)burst);
		for (i = 0; i < n; i++)
			received += rx[i]->pkt_len > 0;
		rte_pktmbuf_free_bulk(rx, n);
		(void)taken;
	}
	return received;
}

static const JNINativeMethod methods[] = {
	{ "loop", "(IIJIJ)J", (void *)native_loop },
};

int
jvhost_bench_register(JNIEnv *env)
{
	return jvhost_register(env, BENCH_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
