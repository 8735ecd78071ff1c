/* SPDX-License-Identifier: Apache-2.0
 * EAL lifecycle and lcore registration. The policy (argument checks, defaults, the dedicated
 * init thread, state) lives in io.jvhost.eal.Eal; this file only calls DPDK and reports errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include "jvhost.h"

#define EAL_CLASS "io/jvhost/internal/NativeEal"

static jclass init_result_class;
static jmethodID init_result_ctor;

/* Set while EAL is up: lcore release at thread exit must not touch a cleaned-up EAL. */
static volatile bool eal_running;
static pthread_key_t lcore_release_key;

/* Runs when a registered thread exits without unregistering. */
static void
release_lcore_at_exit(void *unused)
{
	if (eal_running)
		rte_thread_unregister();
}

static jstring JNICALL
eal_jni_dpdk_version(JNIEnv *env, jclass clazz)
{
	return (*env)->NewStringUTF(env, rte_version());
}

/* Points fd at a fresh memfd, returning a dup of the original fd (or -1). */
static int
redirect_fd(int fd, int *capture)
{
	int saved;

	*capture = memfd_create("jvhost-eal-init", MFD_CLOEXEC);
	if (*capture < 0)
		return -1;
	saved = dup(fd);
	if (saved < 0 || dup2(*capture, fd) < 0) {
		if (saved >= 0)
			close(saved);
		close(*capture);
		*capture = -1;
		return -1;
	}
	return saved;
}

/* Puts fd back and returns what was written to it meanwhile. */
static jbyteArray
restore_fd(JNIEnv *env, int fd, int saved, int capture)
{
	jbyteArray bytes = NULL;
	off_t size;
	char *buf;

	if (saved < 0)
		return NULL;
	dup2(saved, fd);
	close(saved);
	size = lseek(capture, 0, SEEK_END);
	if (size > 0 && size < (1 << 24) && (buf = malloc((size_t)size)) != NULL) {
		if (pread(capture, buf, (size_t)size, 0) == size) {
			bytes = (*env)->NewByteArray(env, (jsize)size);
			if (bytes != NULL)
				(*env)->SetByteArrayRegion(env, bytes, 0, (jsize)size, (const jbyte *)buf);
		}
		free(buf);
	}
	close(capture);
	return bytes;
}

/*
 * Returns an EalInitResult: what rte_eal_init() returned (>= 0) or -rte_errno, and what EAL
 * printed straight to stdout and stderr meanwhile (getopt's complaints, its usage text), so that
 * Java can put it into the exception instead of the application's console. The argument strings
 * are copied and kept for the life of the process: EAL may keep pointers into argv, and it runs
 * once.
 */
static jobject JNICALL
eal_jni_init(JNIEnv *env, jclass clazz, jobjectArray args)
{
	int saved_out, saved_err, capture_out = -1, capture_err = -1;
	jbyteArray out, err;
	jsize argc = (*env)->GetArrayLength(env, args);
	char **argv = calloc((size_t)argc + 1, sizeof(char *));
	jsize i;
	int rc;

	if (argv == NULL) {
		jvhost_throw(env, jvhost_out_of_memory, "EAL argv");
		return NULL;
	}
	for (i = 0; i < argc; i++) {
		jstring arg = (*env)->GetObjectArrayElement(env, args, i);
		const char *chars;

		if (arg == NULL)
			goto fail;
		chars = (*env)->GetStringUTFChars(env, arg, NULL);
		if (chars == NULL)
			goto fail;
		argv[i] = strdup(chars);
		(*env)->ReleaseStringUTFChars(env, arg, chars);
		(*env)->DeleteLocalRef(env, arg);
		if (argv[i] == NULL) {
			jvhost_throw(env, jvhost_out_of_memory, "EAL argv");
			goto fail;
		}
	}

	fflush(stdout);
	fflush(stderr);
	saved_out = redirect_fd(STDOUT_FILENO, &capture_out);
	saved_err = redirect_fd(STDERR_FILENO, &capture_err);
	rte_errno = 0;
	rc = rte_eal_init((int)argc, argv);
	if (rc < 0)
		rc = rte_errno > 0 ? -rte_errno : -EINVAL;
	fflush(stdout);
	fflush(stderr);
	out = restore_fd(env, STDOUT_FILENO, saved_out, capture_out);
	err = restore_fd(env, STDERR_FILENO, saved_err, capture_err);
	if (rc >= 0)
		eal_running = true;
	return (*env)->NewObject(env, init_result_class, init_result_ctor, (jint)rc, out, err);

fail:
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

static jint JNICALL
eal_jni_cleanup(JNIEnv *env, jclass clazz)
{
	int rc;

	eal_running = false;
	rte_errno = 0;
	rc = rte_eal_cleanup();
	return rc < 0 ? (rte_errno > 0 ? -rte_errno : rc) : 0;
}

static jstring JNICALL
eal_jni_strerror(JNIEnv *env, jclass clazz, jint errnum)
{
	return (*env)->NewStringUTF(env, rte_strerror(errnum));
}

static jintArray JNICALL
eal_jni_affinity(JNIEnv *env, jclass clazz)
{
	cpu_set_t set;
	jint cpus[CPU_SETSIZE];
	jsize n = 0;
	jintArray result;
	int cpu;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		jvhost_throw(env, jvhost_runtime, "sched_getaffinity: %s", strerror(errno));
		return NULL;
	}
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	result = (*env)->NewIntArray(env, n);
	if (result != NULL)
		(*env)->SetIntArrayRegion(env, result, 0, n, cpus);
	return result;
}

static jint JNICALL
eal_jni_set_affinity(JNIEnv *env, jclass clazz, jintArray cpus)
{
	jsize n = (*env)->GetArrayLength(env, cpus);
	jint values[CPU_SETSIZE];
	cpu_set_t set;
	jsize i;

	if (n > CPU_SETSIZE)
		return -EINVAL;
	(*env)->GetIntArrayRegion(env, cpus, 0, n, values);
	CPU_ZERO(&set);
	for (i = 0; i < n; i++) {
		if (values[i] < 0 || values[i] >= CPU_SETSIZE)
			return -EINVAL;
		CPU_SET(values[i], &set);
	}
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

/* Returns the lcore id given to the calling thread, or -rte_errno. */
static jint JNICALL
eal_jni_thread_register(JNIEnv *env, jclass clazz)
{
	rte_errno = 0;
	if (rte_thread_register() != 0)
		return rte_errno > 0 ? -rte_errno : -EINVAL;
	pthread_setspecific(lcore_release_key, (void *)1);
	return (jint)rte_lcore_id();
}

static void JNICALL
eal_jni_thread_unregister(JNIEnv *env, jclass clazz)
{
	pthread_setspecific(lcore_release_key, NULL);
	if (eal_running)
		rte_thread_unregister();
}

static jint JNICALL
eal_jni_lcore_id(JNIEnv *env, jclass clazz)
{
	unsigned int id = rte_lcore_id();

	return id == LCORE_ID_ANY ? -1 : (jint)id;
}

static jint JNICALL
eal_jni_lcore_count(JNIEnv *env, jclass clazz)
{
	return (jint)rte_lcore_count();
}

static jint JNICALL
eal_jni_main_lcore(JNIEnv *env, jclass clazz)
{
	return (jint)rte_get_main_lcore();
}

/* rte_errno of the calling thread, as the last DPDK call left it. */
static jint JNICALL
eal_jni_rte_errno(JNIEnv *env, jclass clazz)
{
	return rte_errno;
}

static const JNINativeMethod methods[] = {
	{ "rteErrno", "()I", (void *)eal_jni_rte_errno },
	{ "dpdkVersion", "()Ljava/lang/String;", (void *)eal_jni_dpdk_version },
	{ "init", "([Ljava/lang/String;)Lio/jvhost/internal/EalInitResult;", (void *)eal_jni_init },
	{ "cleanup", "()I", (void *)eal_jni_cleanup },
	{ "strerror", "(I)Ljava/lang/String;", (void *)eal_jni_strerror },
	{ "affinity", "()[I", (void *)eal_jni_affinity },
	{ "setAffinity", "([I)I", (void *)eal_jni_set_affinity },
	{ "threadRegister", "()I", (void *)eal_jni_thread_register },
	{ "threadUnregister", "()V", (void *)eal_jni_thread_unregister },
	{ "lcoreId", "()I", (void *)eal_jni_lcore_id },
	{ "lcoreCount", "()I", (void *)eal_jni_lcore_count },
	{ "mainLcore", "()I", (void *)eal_jni_main_lcore },
};

int
jvhost_eal_register(JNIEnv *env)
{
	if (pthread_key_create(&lcore_release_key, release_lcore_at_exit) != 0)
		return jvhost_throw(env, jvhost_runtime, "pthread_key_create failed");
	if (jvhost_record_class(env, "io/jvhost/internal/EalInitResult", "(I[B[B)V", &init_result_class,
			&init_result_ctor) != 0)
		return -1;
	return jvhost_register(env, EAL_CLASS, methods, JVHOST_ARRAY_SIZE(methods));
}
