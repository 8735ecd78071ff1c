/* SPDX-License-Identifier: Apache-2.0
 * Shared helpers of the jvhost JNI shim.
 */
#ifndef JVHOST_H
#define JVHOST_H

#include <jni.h>
#include <stdbool.h>
#include <stdint.h>

#define JVHOST_JNI_VERSION JNI_VERSION_10

/* One registration function per Java class that declares natives; see jvhost.c. */
typedef int (*jvhost_register_fn)(JNIEnv *env);

extern JavaVM *jvhost_vm;

/* Cached global class refs for exceptions thrown from native code. */
extern jclass jvhost_illegal_argument;
extern jclass jvhost_illegal_state;
extern jclass jvhost_out_of_memory;
extern jclass jvhost_runtime;

/* Throws clazz with a printf-formatted message; returns -1 so callers can 'return jvhost_throw(...)'. */
int jvhost_throw(JNIEnv *env, jclass clazz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Finds a class and makes a global ref of it; NULL with an exception pending on failure. */
jclass jvhost_global_class(JNIEnv *env, const char *name);

/*
 * A record class and its canonical constructor, cached at registration (global class ref), for
 * natives that return structured results as Java value objects built here (as Arrow's C Data JNI
 * does) rather than positional long[] slots. Returns 0, or -1 with an exception pending (a
 * mismatch between C and Java fails the library load, not a later call).
 */
int jvhost_record_class(JNIEnv *env, const char *name, const char *ctor_signature, jclass *clazz, jmethodID *ctor);

/* Registers natives of class 'name'; returns 0 or -1 with an exception pending. */
int jvhost_register(JNIEnv *env, const char *name, const JNINativeMethod *methods, int count);

/*
 * Call after an upcall (native code calling Java) when an exception may be pending: hands it to
 * io.jvhost.internal.Upcalls.report(where, exception), which logs it with its stack trace through
 * System.Logger, and clears it, so that it neither unwinds into DPDK nor vanishes. Returns true if
 * there was one. If reporting fails, the exception is printed to stderr (ExceptionDescribe).
 */
bool jvhost_upcall_failed(JNIEnv *env, const char *where);

/*
 * The JNIEnv of the calling native thread, attaching it to the JVM once, as a daemon, if it is
 * not a Java thread (DPDK's control threads: vhost-events, eal-intr). The thread is detached
 * when it exits. Returns NULL when the JVM cannot take it (for instance during shutdown).
 */
JNIEnv *jvhost_env_for_upcall(void);

/* Per-module registration, called from JNI_OnLoad. */
int jvhost_eal_register(JNIEnv *env);
int jvhost_log_register(JNIEnv *env);
int jvhost_mbuf_register(JNIEnv *env);
int jvhost_vhost_register(JNIEnv *env);
int jvhost_vhost_log_register(JNIEnv *env);
int jvhost_ethdev_register(JNIEnv *env);
int jvhost_iotlb_cache_register(JNIEnv *env);
int jvhost_iotlb_device_register(JNIEnv *env);
int jvhost_rand_register(JNIEnv *env);
int jvhost_bench_register(JNIEnv *env);
/* Natives declared by public classes beside the value types they return (see docs/architecture.md). */
int jvhost_vhost_device_register(JNIEnv *env);
int jvhost_eth_port_register(JNIEnv *env);
int jvhost_iotlb_native_handle_register(JNIEnv *env);
int jvhost_iotlb_native_vhost_device_register(JNIEnv *env);

#define JVHOST_ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif /* JVHOST_H */
